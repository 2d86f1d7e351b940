package ecr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

// TokenCache keeps login tokens between steps of one job, so that each step does not call ECR again.
// Entries are files of mode 0600 in Dir (a job-scoped directory such as $RUNNER_TEMP); a token is reused
// until half its lifetime has passed.
type TokenCache struct {
	Dir string
	Now func() time.Time
}

type cachedAuth struct {
	Auth
	Password  string    `json:"password"`
	FetchedAt time.Time `json:"fetchedAt"`
}

// Key identifies a login: the ECR endpoint, the caller's identity (as the caller names it) and the
// registries asked for.
func Key(endpoint, identity string, registryIDs []string) string {
	h := sha256.Sum256([]byte(endpoint + "\x00" + identity + "\x00" + strings.Join(registryIDs, ",")))
	return hex.EncodeToString(h[:16])
}

func (c TokenCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c TokenCache) path(key string) string { return filepath.Join(c.Dir, "ecr-token-"+key+".json") }

// Get returns the cached logins for key while they are fresh.
func (c TokenCache) Get(key string) ([]Auth, bool) {
	if c.Dir == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var entries []cachedAuth
	if json.Unmarshal(data, &entries) != nil || len(entries) == 0 {
		return nil, false
	}
	now := c.now()
	var out []Auth
	for _, e := range entries {
		half := e.FetchedAt.Add(e.ExpiresAt.Sub(e.FetchedAt) / 2)
		if e.ExpiresAt.IsZero() || !now.Before(half) {
			return nil, false
		}
		a := e.Auth
		a.Password = e.Password
		out = append(out, a)
	}
	return out, true
}

// Put stores logins for key.
func (c TokenCache) Put(key string, auths []Auth) error {
	if c.Dir == "" {
		return nil
	}
	entries := make([]cachedAuth, len(auths))
	for i, a := range auths {
		entries[i] = cachedAuth{Auth: a, Password: a.Password, FetchedAt: c.now()}
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(c.path(key), data, 0o600)
}
