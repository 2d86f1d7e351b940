package ecr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPoll is how often a waiting setup tries a lock again.
const lockPoll = 20 * time.Millisecond

// lockFile takes an exclusive lock on the file name in dir (a cache directory: created 0700 if missing,
// refused unless it is a 0700 directory of this user), waiting at most wait, and returns its release;
// nil when it cannot (a lock file that is not ours, a holder that takes too long, ctx ended). The caches
// use it so that the setups sharing a directory ask ECR one at a time for the same answer; a nil lock
// only means asking without waiting, so nothing depends on it. flock(2) locks end with the process.
func lockFile(ctx context.Context, dir, name string, wait time.Duration) func() {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil
	}
	if (TokenCache{Dir: dir}).CheckDir() != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !ownedByMe(fi) {
		f.Close()
		return nil
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil
		case <-time.After(lockPoll):
		}
	}
}
