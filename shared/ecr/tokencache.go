package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
	"github.com/ecr-ptc/ecr-ptc/shared/safefile"
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
	// Only a regular file of ours, not a symlink planted by someone else, and of bounded size.
	if fi, err := os.Lstat(c.path(key)); err != nil || !fi.Mode().IsRegular() || !ownedByMe(fi) || fi.Mode().Perm()&0o077 != 0 {
		return nil, false
	}
	data, err := safefile.Read(c.path(key), 64<<10)
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
	if err := c.CheckDir(); err != nil {
		return err
	}
	return atomicfile.Write(c.path(key), data, 0o600)
}

// GetFor is Get, keeping the entry only when every login in it passes ok: the caller checks that each
// host is a registry of the identity it has just proved, so a planted entry cannot name another host.
func (c TokenCache) GetFor(key string, ok func(Auth) bool) ([]Auth, bool) {
	auths, found := c.Get(key)
	if !found {
		return nil, false
	}
	for _, a := range auths {
		if !ok(a) {
			return nil, false
		}
	}
	return auths, true
}

// CheckDir refuses a cache directory that someone else could have filled: it must be a directory (not
// a symlink) owned by this user with mode 0700. A directory that does not exist yet is fine: Put
// creates it so.
func (c TokenCache) CheckDir() error {
	fi, err := os.Lstat(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot use the token cache directory %s: %v", c.Dir, err)
	}
	if !fi.IsDir() || !ownedByMe(fi) || fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("the token cache directory %s must be a directory owned by you with mode 0700 (it is %v); remove it or choose another --token-cache", c.Dir, fi.Mode())
	}
	return nil
}

// ownedByMe reports whether this process's user owns the file.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// TokenLockWait bounds how long a login waits for another one fetching the same token before it asks
// ECR itself.
const TokenLockWait = 15 * time.Second

// Lock takes the entry's lock file so that the logins sharing a cache directory (a runner's jobs
// starting together) ask ECR for the token one at a time, the others then finding it cached; nil when
// there is no cache or no lock to be had, which only means asking without waiting.
func (c TokenCache) Lock(ctx context.Context, key string) func() {
	if c.Dir == "" {
		return nil
	}
	return lockFile(ctx, c.Dir, "ecr-token-"+key+".lock", TokenLockWait)
}
