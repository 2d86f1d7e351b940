package ecr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

// ProbeCacheTTL is how long a probe hit is reused (ProbeCache).
const ProbeCacheTTL = 10 * time.Minute

// maxProbeCacheFile bounds what ProbeCache reads: the directory may be shared and is untrusted.
const maxProbeCacheFile = 1 << 20

// ProbeCache keeps DescribeImages hits between setups that share Dir — the steps of one job, or the jobs
// of one runner when Dir is runner-scoped — so that a fleet of jobs over the same monorepo asks ECR about
// each repository once per TTL per runner, not once per job. Only hits are kept: an image the cache
// held minutes ago is still there or, if a lifecycle policy removed it, the build's pull through the
// rule imports it again — a stale hit costs at most a warm that did not happen. Misses are always
// probed again. Key must name the endpoint and the caller's identity (like the token cache's Key), so
// jobs with other credentials never read each other's answers. A file that is not a regular file, is too
// large or holds anything but well-formed digests and tags is ignored.
type ProbeCache struct {
	Dir string
	Key string
	TTL time.Duration // default ProbeCacheTTL; negative disables the cache
	Now func() time.Time
}

type probeEntry struct {
	Tag    string    `json:"tag,omitempty"`
	Digest string    `json:"digest"` // the hit's digest
	ByDig  bool      `json:"byDigest,omitempty"`
	Size   int64     `json:"size,omitempty"`
	Media  string    `json:"mediaType,omitempty"`
	Pushed time.Time `json:"pushedAt,omitzero"`
	At     time.Time `json:"at"`
}

var (
	digestRE   = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	tagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	mediaRE    = regexp.MustCompile(`^[a-z0-9.+/-]{0,255}$`)
	errInvalid = os.ErrInvalid
)

func (c ProbeCache) ttl() time.Duration {
	if c.TTL == 0 {
		return ProbeCacheTTL
	}
	return c.TTL
}

func (c ProbeCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c ProbeCache) path(repository string) string {
	h := sha256.Sum256([]byte(c.Key + "\x00" + repository))
	return filepath.Join(c.Dir, "ecr-probes-"+hex.EncodeToString(h[:16])+".json")
}

func (c ProbeCache) read(repository string) ([]probeEntry, error) {
	p := c.path(repository)
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxProbeCacheFile {
		return nil, errInvalid
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProbeCacheFile+1))
	if err != nil || len(data) > maxProbeCacheFile {
		return nil, errInvalid
	}
	var entries []probeEntry
	if json.Unmarshal(data, &entries) != nil {
		return nil, errInvalid
	}
	for _, e := range entries {
		if !digestRE.MatchString(e.Digest) || (e.Tag != "" && !tagRE.MatchString(e.Tag)) || !mediaRE.MatchString(e.Media) || e.Size < 0 {
			return nil, errInvalid
		}
	}
	return entries, nil
}

func (e probeEntry) matches(id ProbeID) bool {
	if id.Tag != "" {
		return !e.ByDig && e.Tag == id.Tag
	}
	return e.ByDig && e.Digest == id.Digest
}

// get returns the cached hits for every id of repository, or false when any is missing or stale.
func (c *ProbeCache) get(repository string, ids []ProbeID) ([]ProbeResult, bool) {
	if c == nil || c.Dir == "" || c.ttl() < 0 || len(ids) == 0 {
		return nil, false
	}
	entries, err := c.read(repository)
	if err != nil {
		return nil, false
	}
	now := c.now()
	out := make([]ProbeResult, len(ids))
	for i, id := range ids {
		found := false
		for _, e := range entries {
			if e.matches(id) && !e.At.After(now) && now.Sub(e.At) < c.ttl() {
				out[i] = ProbeResult{Outcome: Hit, Digest: e.Digest, Size: e.Size, MediaType: e.Media, PushedAt: e.Pushed}
				if e.Tag != "" {
					out[i].Tags = []string{e.Tag}
				}
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// put records the hits among results (results[i] answers ids[i]), keeping the other fresh entries.
func (c *ProbeCache) put(repository string, ids []ProbeID, results []ProbeResult) error {
	if c == nil || c.Dir == "" || c.ttl() < 0 {
		return nil
	}
	now := c.now()
	old, _ := c.read(repository)
	var entries []probeEntry
	for i, id := range ids {
		r := results[i]
		if r.Outcome != Hit || !digestRE.MatchString(r.Digest) || (id.Tag != "" && !tagRE.MatchString(id.Tag)) {
			continue
		}
		media := r.MediaType
		if !mediaRE.MatchString(media) {
			media = ""
		}
		entries = append(entries, probeEntry{Tag: id.Tag, Digest: r.Digest, ByDig: id.Tag == "", Size: r.Size, Media: media, Pushed: r.PushedAt, At: now})
	}
	if len(entries) == 0 {
		return nil
	}
	for _, e := range old {
		if now.Sub(e.At) >= c.ttl() || e.At.After(now) {
			continue
		}
		dup := false
		for _, n := range entries {
			if n.Tag == e.Tag && n.ByDig == e.ByDig && (n.Tag != "" || n.Digest == e.Digest) {
				dup = true
				break
			}
		}
		if !dup {
			entries = append(entries, e)
		}
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if len(data) > maxProbeCacheFile {
		return nil // too many to keep: probe next time
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(c.path(repository), data, 0o600)
}
