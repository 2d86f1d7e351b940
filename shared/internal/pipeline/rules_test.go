package pipeline

import (
	"reflect"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/dockerfile"
	ecrx "github.com/ecr-ptc/ecr-ptc/shared/ecr"
	"github.com/ecr-ptc/ecr-ptc/shared/rules"
)

// Needed names each upstream without a rule once, sorted, with the registry for the rules that name
// one (ECR-to-ECR, Azure); it skips uses that are not pulled here (ONBUILD, evaluation errors) and the
// cache registry itself, which is not an upstream to cache even though it is an ECR host.
func TestNeeded(t *testing.T) {
	const cache = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	set, err := rules.ParseSpec("docker.io=docker-hub")
	if err != nil {
		t.Fatal(err)
	}
	uses := []dockerfile.ImageUse{
		{Ref: "quay.io/coreos/etcd:v3.5.0", Instruction: "FROM"},
		{Ref: "alpine:3.20", Instruction: "FROM"},
		{Ref: "quay.io/prometheus/node-exporter:v1", Instruction: "COPY"},
		{Ref: "210987654321.dkr.ecr.us-west-2.amazonaws.com/team/app:1", Instruction: "FROM"},
		{Ref: cache + "/team/app:1", Instruction: "FROM"},
		{Ref: "ghcr.io/org/app:1", Instruction: "ONBUILD"},
		{Ref: "public.ecr.aws/x/y:1", Instruction: "FROM", Error: "unknown build argument"},
	}
	want := []ecrx.Want{{Upstream: "ecr", URL: "210987654321.dkr.ecr.us-west-2.amazonaws.com"}, {Upstream: "quay"}}
	if got := Needed(set, cache, uses); !reflect.DeepEqual(got, want) {
		t.Errorf("Needed = %+v, want %+v", got, want)
	}
}
