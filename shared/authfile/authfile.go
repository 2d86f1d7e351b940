// Package authfile writes registry credentials where clients read them: a Docker config.json and a
// containers auth.json (podman, buildah, skopeo). It merges into what is there, writes atomically and
// keeps the files at mode 0600.
package authfile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

// Credential is one registry login.
type Credential struct {
	Host     string // registry host[:port]
	Username string // "AWS" for ECR
	Password string
}

// Result says what Write did and what a person should know.
type Result struct {
	Path     string
	Created  bool
	Warnings []string
}

// Write merges creds into the auth file at path (Docker config.json and containers auth.json share the
// "auths" shape): other registries' entries and every other key stay as they are. The file is replaced
// atomically and ends at mode 0600; its directory is created at 0700 when missing.
func Write(path string, creds []Credential) (Result, error) {
	res := Result{Path: path}
	doc, auths, created, err := load(path)
	if err != nil {
		return res, err
	}
	res.Created = created
	for _, c := range creds {
		entry, _ := json.Marshal(map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))})
		auths[c.Host] = entry
		res.Warnings = append(res.Warnings, helperWarnings(doc, c.Host)...)
	}
	doc["auths"], _ = json.Marshal(auths)
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return res, err
	}
	out = append(out, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return res, fmt.Errorf("cannot create the directory of %s: %w", path, unwrapPath(err))
	}
	return res, atomicfile.Write(path, out, 0o600)
}

// Check reports whether Write could merge into the file at path, without writing: callers that write
// several files check them all first, so that one bad file leaves none half-done.
func Check(path string) error {
	_, _, _, err := load(path)
	return err
}

// load reads an auth file: the whole document and its "auths" object; a missing file is empty.
func load(path string) (doc, auths map[string]json.RawMessage, created bool, err error) {
	doc, auths = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return doc, auths, true, nil
	case err != nil:
		return nil, nil, false, fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	case len(bytes.TrimSpace(data)) > 0:
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, nil, false, fmt.Errorf("%s is not valid JSON (%v); fix or remove it, nothing was written", path, err)
		}
	}
	if raw, ok := doc["auths"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return nil, nil, false, fmt.Errorf(`%s: "auths" is not an object; nothing was written`, path)
		}
	}
	return doc, auths, false, nil
}

// helperWarnings flags settings that make Docker ignore the "auths" entry for host.
func helperWarnings(doc map[string]json.RawMessage, host string) []string {
	var w []string
	if raw, ok := doc["credHelpers"]; ok {
		var helpers map[string]string
		if json.Unmarshal(raw, &helpers) == nil && helpers[host] != "" {
			w = append(w, fmt.Sprintf("credHelpers sends %s to docker-credential-%s, which Docker uses instead of this login", host, helpers[host]))
		}
	}
	if raw, ok := doc["credsStore"]; ok {
		var store string
		if json.Unmarshal(raw, &store) == nil && store != "" {
			w = append(w, fmt.Sprintf("credsStore %q is set: Docker reads logins from docker-credential-%s, not from this file; BuildKit and containerd still read this file", store, store))
		}
	}
	return w
}

// Read returns the credential stored for host in the auth file at path, if any.
func Read(path, host string) (Credential, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credential{}, false, nil
	}
	if err != nil {
		return Credential{}, false, unwrapPath(err)
	}
	var doc struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Credential{}, false, fmt.Errorf("%s is not valid JSON: %v", path, err)
	}
	e, ok := doc.Auths[host]
	if !ok {
		return Credential{}, false, nil
	}
	dec, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return Credential{}, false, fmt.Errorf("%s: the auth entry for %s is not base64", path, host)
	}
	user, pass, _ := bytes.Cut(dec, []byte(":"))
	return Credential{Host: host, Username: string(user), Password: string(pass)}, true, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// DockerConfigPath is the Docker config file for a DOCKER_CONFIG directory value and a home directory,
// as the Docker CLI resolves it.
func DockerConfigPath(dockerConfigDir, home string) string {
	if dockerConfigDir != "" {
		return filepath.Join(dockerConfigDir, "config.json")
	}
	return filepath.Join(home, ".docker", "config.json")
}
