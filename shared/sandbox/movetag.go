package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// MoveTagRequest asks the control endpoint (POST <stats URL>/../upstream/move-tag) to publish new content
// under an upstream tag, as Sandbox.MoveTag does: scripts and `ecr-ptc sandbox move-tag` use it to show a
// moved tag served stale by the cache (reference: "a moved tag can be served stale for a day").
type MoveTagRequest struct {
	Upstream   string `json:"upstream"` // docker-hub, github, quay, ecr-public (or the upstream URL)
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// MoveTagResponse is the tag's new digest.
type MoveTagResponse struct {
	Digest string `json:"digest"`
}

// registerMoveTagControl adds POST /upstream/move-tag to the control mux.
func registerMoveTagControl(mux *http.ServeMux, d *deps) {
	mux.HandleFunc("POST /upstream/move-tag", func(w http.ResponseWriter, r *http.Request) {
		var req MoveTagRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Upstream == "" || req.Repository == "" || req.Tag == "" {
			http.Error(w, `a move is {"upstream": "docker-hub", "repository": "library/node", "tag": "20"}`, http.StatusBadRequest)
			return
		}
		digest, err := moveTag(d, req.Upstream, req.Repository, req.Tag)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(MoveTagResponse{Digest: digest})
	})
}

// moveTag is Sandbox.MoveTag on the shared state, for an existing tag only.
func moveTag(d *deps, upstreamName, repo, tag string) (string, error) {
	u, err := d.upstreamByName(upstreamName)
	if err != nil {
		return "", err
	}
	u.mu.Lock()
	spec, ok := u.seeds[repo+":"+tag]
	u.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("the %s stand-in has no %s:%s to move", u.name, repo, tag)
	}
	spec.generation++
	return u.seed(repo, tag, spec)
}
