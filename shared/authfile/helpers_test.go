package authfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteHelpers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte(`{"auths":{"reg.example":{"auth":"QVdTOnB3"},"docker.io":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"},"psFormat":"x"}`), 0o644)
	res, err := WriteHelpers(p, []string{"reg.example"}, "ecr-ptc", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != "reg.example" {
		t.Errorf("removed %v", res.Removed)
	}
	var doc struct {
		Auths       map[string]any
		CredHelpers map[string]string
		PsFormat    string
	}
	data, _ := os.ReadFile(p)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Auths["reg.example"] != nil || doc.Auths["docker.io"] == nil || doc.CredHelpers["reg.example"] != "ecr-ptc" || doc.CredHelpers["gcr.io"] != "gcloud" || doc.PsFormat != "x" {
		t.Errorf("config.json: %s", data)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	// Another helper's registry is not taken silently, and nothing is written.
	before, _ := os.ReadFile(p)
	_, err = WriteHelpers(p, []string{"gcr.io"}, "ecr-ptc", false)
	var se *ShadowError
	if !errors.As(err, &se) || se.Helper != "gcloud" {
		t.Fatalf("err %v", err)
	}
	if after, _ := os.ReadFile(p); string(after) != string(before) {
		t.Error("the file changed after a refusal")
	}
	if res, err := WriteHelpers(p, []string{"gcr.io"}, "ecr-ptc", true); err != nil || len(res.Warnings) != 1 {
		t.Errorf("replace: %v %+v", err, res)
	}
	// Not JSON: one sentence, nothing written.
	os.WriteFile(p, []byte("{"), 0o600)
	if _, err := WriteHelpers(p, []string{"x"}, "ecr-ptc", false); err == nil {
		t.Error("accepted a broken file")
	}
}
