package sandbox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

// ECR user guide, lifecycle policy properties: rules run by rulePriority; an image matched by a
// higher-priority rule's tag selection is not considered by a lower one; imageCountMoreThan keeps the
// newest pushes; tagPrefixList / tagPatternList select tagged images. Manifests an index references go
// with their index.
func TestLifecyclePolicyRules(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	s := sandbox.NewStore("123456789012", "us-east-1", func() time.Time { return now })
	const repo = "docker-hub/library/app"
	s.EnsureRepository(repo, "docker-hub")
	dg := func(i int) string { return "sha256:" + strings.Repeat(fmt.Sprint(i%10), 64) }
	put := func(i int, tag string, age time.Duration) {
		s.PutImage(repo, tag, sandbox.Image{Digest: dg(i), MediaType: "application/vnd.oci.image.manifest.v1+json", Manifest: []byte("{}"), PushedAt: now.Add(-age)})
	}
	// Tagged release images, keep the newest two.
	put(1, "v1", 5*24*time.Hour)
	put(2, "v2", 4*24*time.Hour)
	put(3, "v3", 3*24*time.Hour)
	// A dev image, older than 2 days: expired by the pattern rule.
	put(4, "dev-1", 3*24*time.Hour)
	// An index with a child: the child is untagged but referenced, so it stays.
	child := dg(5)
	put(5, "", 10*24*time.Hour)
	s.PutImage(repo, "idx", sandbox.Image{Digest: dg(6), MediaType: "application/vnd.oci.image.index.v1+json",
		Manifest: []byte(`{"manifests":[{"digest":"` + child + `"}]}`), PushedAt: now.Add(-time.Hour)})
	// An old untagged leftover: expired.
	put(7, "", 10*24*time.Hour)

	policy := `{"rules":[
	 {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
	 {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPatternList":["dev-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":2},"action":{"type":"expire"}},
	 {"rulePriority":3,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`
	if !s.PutLifecyclePolicy(repo, policy) {
		t.Fatal("no repository")
	}
	if n := s.ApplyLifecycle(); n != 3 {
		t.Errorf("expired %d images, want 3 (v1, dev-1, the leftover)", n)
	}
	left := map[string]bool{}
	for _, img := range s.Images(repo) {
		left[img.Digest] = true
	}
	for i, want := range map[int]bool{1: false, 2: true, 3: true, 4: false, 5: true, 6: true, 7: false} {
		if left[dg(i)] != want {
			t.Errorf("image %d present=%v, want %v", i, left[dg(i)], want)
		}
	}
	if _, evaluated, _ := s.LifecyclePolicy(repo); !evaluated.Equal(now) {
		t.Errorf("lastEvaluatedAt %v", evaluated)
	}
	// Deleting the index by tag takes its untagged child with it.
	if res := s.DeleteImage(repo, "idx", ""); len(res) != 1 || res[0].Failure != "" {
		t.Fatalf("delete idx: %+v", res)
	}
	if _, ok := s.LookupImage(repo, child); ok {
		t.Error("the index's child outlived it")
	}
}
