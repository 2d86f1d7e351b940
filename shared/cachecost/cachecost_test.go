package cachecost_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/cachecost"
)

func TestPolicy(t *testing.T) {
	p, err := cachecost.Policy(1, 90)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []struct {
			RulePriority int
			Selection    struct {
				TagStatus, CountType, CountUnit string
				CountNumber                     int
			}
			Action struct{ Type string }
		}
	}
	if err := json.Unmarshal([]byte(p), &doc); err != nil || len(doc.Rules) != 2 {
		t.Fatalf("%s %v", p, err)
	}
	// ECR: a rule with tagStatus any must have the highest priority, and only one untagged rule.
	if r := doc.Rules[0]; r.RulePriority != 1 || r.Selection.TagStatus != "untagged" || r.Selection.CountType != "sinceImagePushed" || r.Selection.CountNumber != 1 || r.Action.Type != "expire" {
		t.Errorf("rule 1: %+v", r)
	}
	if r := doc.Rules[1]; r.RulePriority != 2 || r.Selection.TagStatus != "any" || r.Selection.CountType != "sinceImagePulled" || r.Selection.CountUnit != "days" || r.Selection.CountNumber != 90 {
		t.Errorf("rule 2: %+v", r)
	}
	if len(p) < 100 {
		t.Errorf("ECR needs at least 100 characters of policy text, got %d", len(p))
	}
	if one, _ := cachecost.Policy(0, 30); strings.Contains(one, "untagged") {
		t.Errorf("--expire-untagged-days 0 must leave the rule out: %s", one)
	}
	for _, bad := range [][2]int{{0, 0}, {-1, 5}, {1, 4000}} {
		if _, err := cachecost.Policy(bad[0], bad[1]); err == nil {
			t.Errorf("Policy(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

func TestSamePolicyAndDiff(t *testing.T) {
	a, _ := cachecost.Policy(1, 90)
	if !cachecost.SamePolicy(a, cachecost.Pretty(a)) {
		t.Error("formatting must not count as a change")
	}
	b, _ := cachecost.Policy(2, 90)
	var plus, minus int
	for _, l := range cachecost.Diff(cachecost.Pretty(a), cachecost.Pretty(b)) {
		switch {
		case strings.HasPrefix(l, "+ "):
			plus++
		case strings.HasPrefix(l, "- "):
			minus++
		}
	}
	if plus != 2 || minus != 2 { // the description and countNumber of rule 1
		t.Errorf("diff +%d -%d", plus, minus)
	}
	if d := cachecost.Diff("", "x\ny"); len(d) != 2 || d[0] != "+ x" {
		t.Errorf("diff from nothing: %q", d)
	}
}

func TestRuleOf(t *testing.T) {
	prefixes := []string{"docker-hub", "docker-hub/team", "quay"}
	for repo, want := range map[string]string{
		"docker-hub/library/node": "docker-hub",
		"docker-hub/team/app":     "docker-hub/team",
		"docker-hubx/app":         "",
		"quay/prometheus/prom":    "quay",
		"app":                     "",
	} {
		if got := cachecost.RuleOf(prefixes, repo); got != want {
			t.Errorf("RuleOf(%q) = %q, want %q", repo, got, want)
		}
	}
	if got := cachecost.RuleOf([]string{"ROOT"}, "anything/at/all"); got != "ROOT" {
		t.Errorf("ROOT: %q", got)
	}
	if got := cachecost.HumanBytes(3 << 30); got != "3.0 GiB" {
		t.Errorf("HumanBytes: %s", got)
	}
}
