package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 11, with the real binary: a FIFO named Dockerfile is refused at once instead of hanging the job,
// and SIGINT/SIGTERM end a command even where it is blocked (here: reading a stdin that never ends).
func TestProcessHostileFilesAndSignals(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()

	t.Run("FIFO named Dockerfile", func(t *testing.T) {
		src := filepath.Join(dir, "fifo")
		os.MkdirAll(src, 0o755)
		if err := syscall.Mkfifo(filepath.Join(src, "Dockerfile"), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		for _, args := range [][]string{{"scan", src}, {"scan", "-f", filepath.Join(src, "Dockerfile")}, {"rewrite", "-f", filepath.Join(src, "Dockerfile"), "--registry", "127.0.0.1:5000"}} {
			out, code := runFor(t, bin, 10*time.Second, nil, args...)
			if code == 0 && args[0] != "scan" || strings.Contains(out, "killed") {
				t.Errorf("%v: exit %d: %s", args, code, out)
			}
			if args[1] == "-f" && !strings.Contains(out, "not a regular file") {
				t.Errorf("%v: %s", args, out)
			}
		}
	})

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "rewrite", "-f", "-", "--registry", "127.0.0.1:5000")
			stdin, _ := cmd.StdinPipe() // never written, never closed: the read blocks
			defer stdin.Close()
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // let it reach the blocking read
			start := time.Now()
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after %v", sig)
			}
			t.Logf("stopped %v after the signal: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out.String()))
			if cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("exit 0 after %v", sig)
			}
		})
	}
}

// runFor runs the binary with a deadline and returns its combined output and exit code.
func runFor(t *testing.T, bin string, d time.Duration, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()
	return out.String(), cmd.ProcessState.ExitCode()
}
