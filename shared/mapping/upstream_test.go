package mapping_test

import (
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/mapping"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Uncovered agrees with Map's NoRule on upstream references, and never counts the cache registry —
// whatever host of it a reference uses — as an upstream that needs a rule.
func TestUncovered(t *testing.T) {
	const cache = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	set, err := rules.ParseSpec("docker.io=docker-hub,ghcr.io=github")
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.New(cache, mapping.WithRules(set))
	for _, c := range []struct {
		ref, host string
		ok        bool
	}{
		{"alpine:3.20", "", false},                      // a rule serves it
		{"quay.io/coreos/etcd:v3.5.0", "quay.io", true}, // no rule
		{"ghcr.io/org/app:1", "", false},
		{"gcr.io/distroless/static:nonroot", "", false}, // an upstream ECR cannot cache
		{"210987654321.dkr.ecr.us-west-2.amazonaws.com/team/app:1", "210987654321.dkr.ecr.us-west-2.amazonaws.com", true}, // another ECR registry
		{cache + "/docker-hub/library/alpine:3.20", "", false},                                                            // the cache itself
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/team/app:1", "", false},                                       // the cache's FIPS host
		{"localhost:5000/app:1", "", false},                                                                               // not an upstream the cache supports
		{"scratch", "", false},
		{"UPPER/case", "", false}, // invalid
	} {
		host, _, ok := mapping.Uncovered(set, cache, c.ref)
		if ok != c.ok || host != c.host {
			t.Errorf("Uncovered(%q) = %q, %v; want %q, %v", c.ref, host, ok, c.host, c.ok)
		}
		if mr := m.Map(c.ref); (mr.Kind == mapping.NoRule) != ok {
			t.Errorf("Uncovered(%q) = %v but Map says %s", c.ref, ok, mr.Kind)
		}
	}
}
