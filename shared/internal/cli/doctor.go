package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
	"github.com/spf13/cobra"
)

// check is one doctor finding.
type check struct {
	Name string `json:"check"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

func newDoctorCmd(env Env) *cobra.Command {
	var (
		af     awsFlags
		sf     scanFlags
		asJSON bool
		hosts  containerdHostsFlags
	)
	cmd := &cobra.Command{
		Use:   "doctor [PATH...]",
		Short: "Check credentials, region, registry, rules, secrets and pull permissions, with fixes",
		Long: `doctor checks everything a build through the cache depends on and prints one ✓ or ✗ line per check, each
✗ with its fix: credentials and identity, region, ECR login and registry reachability, a rule for every
upstream the Dockerfiles under PATH use, the secret naming rule (ecr-pullthroughcache/...) of rules with
credentials, ECR's own validation of each rule, and the pull permissions (a real pull through the cache,
which needs ecr:BatchImportUpstreamImage and, for a first pull, ecr:CreateRepository).
Exit status 1 when a check fails.`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			checks, err := hosts.checks(cmd.Context(), env, func() []check { return runDoctor(cmd.Context(), env, af, sf, paths) })
			if err != nil {
				return err
			}
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if asJSON {
				if err := writeJSON(env.Stdout, checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "✓"
					if !c.OK {
						mark = "✗"
					}
					fmt.Fprintf(env.Stdout, "%s %s: %s\n", mark, c.Name, c.Info)
					if c.Fix != "" {
						fmt.Fprintf(env.Stdout, "    fix: %s\n", c.Fix)
					}
				}
			}
			if failed > 0 {
				return exitError{ExitFailure}
			}
			return nil
		},
	}
	af.add(cmd)
	sf.add(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	hosts.add(cmd)
	return cmd
}

func runDoctor(ctx context.Context, env Env, af awsFlags, sf scanFlags, paths []string) []check {
	var out []check
	add := func(c check) { out = append(out, c) }

	cfg, src, err := af.loadAWS(ctx, env)
	if err != nil {
		add(check{Name: "region", Info: err.Error(), Fix: "pass --region or set AWS_REGION"})
		return out
	}
	cfg = withMasks(cfg, maskDoor(env, nil))
	add(check{Name: "region", OK: true, Info: cfg.Region})

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		add(check{Name: "credentials", Info: credentialsError(err, src).Error(), Fix: "see the message; `ecr-ptc iam-policy --for ci` prints the policy the role needs"})
		return out
	}
	add(check{Name: "credentials", OK: true, Info: fmt.Sprintf("%s via %s", aws.ToString(id.Arn), src)})

	client := ecr.NewFromConfig(cfg)
	auths, err := maskAuths(env, nil)(ecrx.Login(ctx, client))
	if err != nil {
		add(check{Name: "ecr login", Info: err.Error(), Fix: "allow ecr:GetAuthorizationToken on * (`ecr-ptc iam-policy --for ci`)"})
		return out
	}
	registry := cacheRegistry("", env, auths, cfg.Region)
	add(check{Name: "ecr login", OK: true, Info: "token for " + auths[0].Host + " valid until " + auths[0].ExpiresAt.UTC().Format(time.RFC3339)})
	add(reachability(ctx, auths[0]))

	set, err := ecrx.ListRules(ctx, client)
	if err != nil {
		add(check{Name: "rules", Info: err.Error(), Fix: "allow ecr:DescribePullThroughCacheRules"})
		return out
	}
	add(check{Name: "rules", OK: len(set.Rules) > 0, Info: fmt.Sprintf("%d pull-through cache rule(s)", len(set.Rules)), Fix: fixIf(len(set.Rules) == 0, "create rules with `ecr-ptc rules ensure`")})
	for _, r := range set.Rules {
		add(secretCheck(r))
		v, err := ecrx.Validate(ctx, client, r)
		switch {
		case err != nil:
			add(check{Name: "rule " + r.ECRRepositoryPrefix, Info: err.Error(), Fix: "allow ecr:ValidatePullThroughCacheRule"})
		case !v.Valid:
			add(check{Name: "rule " + r.ECRRepositoryPrefix, Info: "ECR cannot reach " + r.UpstreamRegistryURL + ": " + v.Failure, Fix: "check the upstream URL and the secret's username/accessToken"})
		default:
			add(check{Name: "rule " + r.ECRRepositoryPrefix, OK: true, Info: "ECR validated the rule for " + r.UpstreamRegistryURL})
		}
	}

	opts, err := sf.options(env)
	if err != nil {
		add(check{Name: "dockerfiles", Info: err.Error()})
		return out
	}
	m := mapping.New(registry, mapping.WithRules(set))
	results, failed, err := scanPaths(env, sf.files, paths, opts, m)
	if err != nil || failed > 0 {
		add(check{Name: "dockerfiles", Info: fmt.Sprintf("%d Dockerfile(s) could not be evaluated", failed), Fix: "run `ecr-ptc scan` to see why"})
		return out
	}
	missing := map[string]string{}
	for _, r := range results {
		if r.Kind == mapping.NoRule {
			missing[r.Ref] = r.Reason
		}
	}
	if len(missing) == 0 {
		add(check{Name: "rules for the Dockerfiles", OK: true, Info: fmt.Sprintf("%d image use(s), every supported upstream has a rule", len(results))})
	}
	for ref, reason := range missing {
		add(check{Name: "rules for the Dockerfiles", Info: ref + " has no rule", Fix: strings.TrimPrefix(reason, "no pull-through cache rule for ")})
	}
	if c, ok := pullCheck(ctx, client, &ecrx.Warmer{Auths: auths}, m, results); ok {
		add(c)
	}
	return out
}

func fixIf(cond bool, fix string) string {
	if cond {
		return fix
	}
	return ""
}

// secretCheck applies ECR's rule for upstream credentials: a Secrets Manager secret whose name starts
// with ecr-pullthroughcache/ (reference).
func secretCheck(r rules.Rule) check {
	name := "secret for " + r.ECRRepositoryPrefix
	up, _ := rules.ByEnum(r.UpstreamRegistry)
	switch {
	case r.CredentialArn == "" && up.NeedsCredential:
		return check{Name: name, Info: r.UpstreamRegistryURL + " needs credentials but the rule has none", Fix: "recreate the rule with --credential-arn (a secret named ecr-pullthroughcache/...)"}
	case r.CredentialArn == "":
		return check{Name: name, OK: true, Info: "none needed for " + r.UpstreamRegistryURL}
	case !strings.Contains(r.CredentialArn, ":secret:ecr-pullthroughcache/"):
		return check{Name: name, Info: r.CredentialArn + " is not named ecr-pullthroughcache/...", Fix: "ECR only reads secrets whose name starts with ecr-pullthroughcache/; create one and update the rule"}
	}
	return check{Name: name, OK: true, Info: r.CredentialArn}
}

// reachability checks that the registry answers /v2/ with the login.
func reachability(ctx context.Context, a ecrx.Auth) check {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(a.ProxyEndpoint, "/")+"/v2/", nil)
	if err != nil {
		return check{Name: "registry", Info: err.Error()}
	}
	req.SetBasicAuth(a.Username, a.Password)
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return check{Name: "registry", Info: "cannot reach " + a.Host + ": " + err.Error(), Fix: "check the network path (proxy, VPC endpoint for ecr.dkr) to the registry"}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fix := "check the network path (proxy, VPC endpoint policy) to the registry"
		if resp.StatusCode == http.StatusUnauthorized {
			fix = "log in again; the token may have expired"
		}
		return check{Name: "registry", Info: fmt.Sprintf("%s answered HTTP %d to the login", a.Host, resp.StatusCode), Fix: fix}
	}
	return check{Name: "registry", OK: true, Info: a.Host + " accepts the login"}
}
