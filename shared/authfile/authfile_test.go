package authfile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/authfile"
)

func TestWriteMergesAndKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	existing := `{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpodWI="}},"proxies":{"default":{"httpProxy":"http://p:3128"}}}`
	if err := os.WriteFile(path, []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := authfile.Write(path, []authfile.Credential{{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Username: "AWS", Password: "s3cr3t"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || len(res.Warnings) != 0 {
		t.Errorf("result = %+v", res)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	var doc map[string]map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["auths"]["https://index.docker.io/v1/"]; !ok {
		t.Error("the docker.io login was dropped")
	}
	if _, ok := doc["proxies"]["default"]; !ok {
		t.Error("other keys were dropped")
	}
	c, ok, err := authfile.Read(path, "123456789012.dkr.ecr.us-east-1.amazonaws.com")
	if err != nil || !ok || c.Username != "AWS" || c.Password != "s3cr3t" {
		t.Fatalf("Read = %+v %v %v", c, ok, err)
	}
	// No temporary files are left beside it.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries", len(entries))
	}
}

func TestWriteCreatesDirAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "containers", "auth.json")
	res, err := authfile.Write(path, []authfile.Credential{{Host: "127.0.0.1:5000", Username: "AWS", Password: "p"}})
	if err != nil || !res.Created {
		t.Fatalf("Write = %+v, %v", res, err)
	}
	fi, _ := os.Stat(filepath.Dir(path))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v", fi.Mode().Perm())
	}
}

func TestWriteRefusesBadJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	_, err := authfile.Write(path, []authfile.Credential{{Host: "h", Username: "AWS", Password: "p"}})
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || strings.Contains(err.Error(), "p\"") {
		t.Fatalf("err = %v", err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "{not json" {
		t.Error("the file was changed")
	}
}

func TestWarnsAboutHelpers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, []byte(`{"credsStore":"desktop","credHelpers":{"h":"ecr-login"}}`), 0o600)
	res, err := authfile.Write(path, []authfile.Credential{{Host: "h", Username: "AWS", Password: "p"}})
	if err != nil || len(res.Warnings) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestPaths(t *testing.T) {
	if got := authfile.DockerConfigPath("", "/home/u"); got != "/home/u/.docker/config.json" {
		t.Error(got)
	}
	if got := authfile.DockerConfigPath("/d", "/home/u"); got != "/d/config.json" {
		t.Error(got)
	}
}
