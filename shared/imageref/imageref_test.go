package imageref_test

import (
	"errors"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/imageref"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"alpine":                            "docker.io/library/alpine:latest",
		"alpine:3.20":                       "docker.io/library/alpine:3.20",
		"index.docker.io/alpine":            "docker.io/library/alpine:latest",
		"registry-1.docker.io/alpine":       "docker.io/library/alpine:latest",
		"REGISTRY-1.DOCKER.IO/user/app:1":   "docker.io/user/app:1",
		"user/app":                          "docker.io/user/app:latest",
		"localhost/app":                     "localhost/app:latest",
		"localhost:5000/app:1":              "localhost:5000/app:1",
		"example.com/app":                   "example.com/app:latest",
		"ghcr.io/o/r:1@sha256:" + sixtyFour: "ghcr.io/o/r:1@sha256:" + sixtyFour,
		"ghcr.io/o/r@sha256:" + sixtyFour:   "ghcr.io/o/r@sha256:" + sixtyFour,
	} {
		got, err := imageref.Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", " alpine", "Alpine", "alpine:", "https://x/y", "a@sha256:12"} {
		_, err := imageref.Normalize(bad)
		var ie *imageref.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("Normalize(%q) = %v, want *InvalidError", bad, err)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestECRHost(t *testing.T) {
	for host, want := range map[string]imageref.ECRRegistry{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com":          {AccountID: "123456789012", Region: "us-east-1", Partition: "aws"},
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com": {AccountID: "123456789012", Region: "us-gov-west-1", Partition: "aws-us-gov", FIPS: true},
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":      {AccountID: "123456789012", Region: "cn-north-1", Partition: "aws-cn"},
		"123456789012.dkr-ecr.eu-west-1.on.aws":                 {AccountID: "123456789012", Region: "eu-west-1", Partition: "aws", DualStack: true},
		"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu":      {AccountID: "123456789012", Region: "eusc-de-east-1", Partition: "aws-eusc"},
	} {
		got, ok := imageref.ParseECRHost(host)
		if !ok || got != want {
			t.Errorf("ParseECRHost(%q) = %+v, %v", host, got, ok)
		}
	}
	for _, h := range []string{"public.ecr.aws", "12345.dkr.ecr.us-east-1.amazonaws.com", "docker.io"} {
		if _, ok := imageref.ParseECRHost(h); ok {
			t.Errorf("%s is not a private ECR host", h)
		}
	}
	if got := imageref.ECRHost("123456789012", "cn-north-1"); got != "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn" {
		t.Errorf("ECRHost = %q", got)
	}
}

func TestForms(t *testing.T) {
	r, err := imageref.Parse("node:20@sha256:" + sixtyFour)
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		r.String():            "docker.io/library/node:20@sha256:" + sixtyFour,
		r.ByTag().String():    "docker.io/library/node:20",
		r.ByDigest().String(): "docker.io/library/node@sha256:" + sixtyFour,
		r.ByTag().WithDigest("sha256:x").String(): "docker.io/library/node:20@sha256:x",
		r.WithDigest("").String():                 "docker.io/library/node:20",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if r.IsZero() || !(imageref.Ref{}).IsZero() {
		t.Error("IsZero")
	}
}
