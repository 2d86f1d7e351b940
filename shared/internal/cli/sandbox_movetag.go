package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
	"github.com/spf13/cobra"
)

func newSandboxMoveTagCmd(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "move-tag UPSTREAM REPOSITORY:TAG",
		Short: "Publish new content under an upstream stand-in's tag (as when node:20 gets a fix)",
		Long: `move-tag makes a running sandbox's upstream stand-in (docker-hub, github, quay, ecr-public) publish new
content under an existing tag and prints the new digest. The cache keeps serving the old digest until
its daily re-check: ` + "`ecr-ptc stale`" + ` shows it, ` + "`ecr-ptc refresh`" + ` re-imports it.`,
		Example: `  ecr-ptc sandbox move-tag docker-hub library/node:20`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			stats := env.getenv("ECR_PTC_SANDBOX_STATS")
			if stats == "" {
				return usagef("ECR_PTC_SANDBOX_STATS is not set; run this inside `ecr-ptc sandbox -- ...` or after sourcing its exports")
			}
			repo, tag, ok := strings.Cut(args[1], ":")
			if !ok || repo == "" || tag == "" || strings.ContainsAny(args[1], "@ ") {
				return usagef("%q is not REPOSITORY:TAG (e.g. library/node:20)", args[1])
			}
			body, _ := json.Marshal(sandbox.MoveTagRequest{Upstream: args[0], Repository: repo, Tag: tag})
			url := strings.TrimSuffix(stats, "/stats") + "/upstream/move-tag"
			resp, err := sandboxControl(cmd.Context(), env, http.MethodPost, url, bytes.NewReader(body), 30*time.Second)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("the sandbox refused the move: %s", strings.TrimSpace(moveTagErrLine(string(data))))
			}
			var out sandbox.MoveTagResponse
			if err := json.Unmarshal(data, &out); err != nil {
				return fmt.Errorf("the sandbox's answer is not JSON: %v", err)
			}
			fmt.Fprintf(env.Stdout, "%s %s:%s now names %s\n", args[0], repo, tag, out.Digest)
			return nil
		},
	}
}

func moveTagErrLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
