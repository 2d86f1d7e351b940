package cli_test

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the real ecr-ptc binary once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ecr-ptc")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/ecr-ptc")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// `ecr-ptc sandbox` prints export lines, serves until SIGTERM, and stops cleanly.
func TestSandboxProcessStopsOnSignal(t *testing.T) {
	bin := buildBinary(t)
	envFile := filepath.Join(t.TempDir(), "sandbox.env")
	cmd := exec.Command(bin, "sandbox", "--env-file", envFile)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			t.Fatalf("not an export line: %q", sc.Text())
		}
		k, v, _ := strings.Cut(line, "=")
		vars[k] = strings.Trim(v, "'")
		if k == "ECR_PTC_SANDBOX_UPSTREAM_ECRPUBLIC" { // the last line
			break
		}
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECR_PTC_REGISTRY", "ECR_PTC_SANDBOX_UPSTREAM_DOCKERHUB", "ECR_PTC_SANDBOX_STATS"} {
		if vars[k] == "" {
			t.Errorf("no export of %s", k)
		}
	}
	data, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(data), "ECR_PTC_REGISTRY="+vars["ECR_PTC_REGISTRY"]) {
		t.Fatalf("env file: %v %q", err, data)
	}
	// Without the token printed in the exports, the stats and faults endpoint refuses.
	if resp, err := http.Get(vars["ECR_PTC_SANDBOX_STATS"]); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stats without the token: %v %v", resp, err)
	}
	req, _ := http.NewRequest(http.MethodGet, vars["ECR_PTC_SANDBOX_STATS"], nil)
	req.Header.Set("Authorization", "Bearer "+vars["ECR_PTC_SANDBOX_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %v", err)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v (%s)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sandbox did not stop on SIGTERM")
	}
	if !strings.Contains(stderr.String(), "sandbox stopped") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

// `ecr-ptc sandbox -- COMMAND` on SIGTERM ends within a second and takes its command with it: the command
// gets SIGTERM (SIGKILL half a second later), and is not left running after the sandbox is gone.
func TestSandboxCommandStopsOnSignal(t *testing.T) {
	bin := buildBinary(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// A command that ignores SIGTERM, so only the SIGKILL after the grace period can end it.
	cmd := exec.Command(bin, "sandbox", "--", "sh", "-c", `trap '' TERM; echo $$ > "$0"; while :; do sleep 0.1; done`, pidFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var pid int
	for deadline := time.Now().Add(60 * time.Second); pid == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command did not start: %s", stderr.String())
		}
		if data, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(data), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ecr-ptc sandbox -- COMMAND did not stop on SIGTERM")
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("stopping took %v, want about a second at most", took)
	}
	// The child is gone (a zombie reaped by init counts as gone: signal 0 fails once it is reaped).
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); err != nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the sandbox's command (pid %d) outlived it", pid)
		}
	}
}
