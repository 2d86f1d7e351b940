package authfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ecr-ptc/ecr-ptc/shared/atomicfile"
)

// HelperResult says what WriteHelpers did.
type HelperResult struct {
	Path     string
	Hosts    []string // hosts now sent to the helper
	Removed  []string // hosts whose stored password was removed
	Warnings []string
}

// ShadowError is an existing credHelpers entry that WriteHelpers would replace.
type ShadowError struct {
	Path, Host, Helper string
}

func (e *ShadowError) Error() string {
	return fmt.Sprintf("%s: credHelpers already sends %s to docker-credential-%s; nothing was written (remove that entry, or pass --replace-helper to replace it)", e.Path, e.Host, e.Helper)
}

// WriteHelpers points credHelpers[host] at docker-credential-<helper> for every host in the auth file at
// path (Docker's config.json; containers auth.json has the same key) and removes any password stored for
// those hosts in "auths", which the helper replaces. An existing entry naming another helper is an error
// unless replace is set: a login must not silently take a registry away from another helper. Other keys
// and entries stay as they are; the file is replaced atomically at mode 0600.
func WriteHelpers(path string, hosts []string, helper string, replace bool) (HelperResult, error) {
	res := HelperResult{Path: path}
	doc, auths, _, err := load(path)
	if err != nil {
		return res, err
	}
	helpers := map[string]string{}
	if raw, ok := doc["credHelpers"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return res, fmt.Errorf(`%s: "credHelpers" is not an object of strings; nothing was written`, path)
		}
	}
	for _, h := range hosts {
		if cur := helpers[h]; cur != "" && cur != helper && !replace {
			return res, &ShadowError{Path: path, Host: h, Helper: cur}
		}
	}
	for _, h := range hosts {
		if cur := helpers[h]; cur != "" && cur != helper {
			res.Warnings = append(res.Warnings, fmt.Sprintf("replaced credHelpers %s: docker-credential-%s", h, cur))
		}
		helpers[h] = helper
		if _, ok := auths[h]; ok {
			delete(auths, h)
			res.Removed = append(res.Removed, h)
		}
		res.Hosts = append(res.Hosts, h)
	}
	sort.Strings(res.Hosts)
	doc["credHelpers"], _ = json.Marshal(helpers)
	if _, ok := doc["auths"]; ok || len(auths) > 0 {
		doc["auths"], _ = json.Marshal(auths)
	}
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
