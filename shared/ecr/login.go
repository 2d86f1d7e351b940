// Package ecr is ecr-ptc's side of the ECR API: registry login tokens, pull-through cache rules, image
// probes and warming the cache through the registry. Each SDK call it needs sits behind a one-method
// interface, so callers pass the real client and tests pass the real client too (against the sandbox).
package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
)

// AuthorizationTokenAPI is the one call Login needs.
type AuthorizationTokenAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// Auth is a registry login: Docker's username and password for Host until ExpiresAt.
type Auth struct {
	Host          string    `json:"host"` // registry host[:port], from proxyEndpoint
	ProxyEndpoint string    `json:"proxyEndpoint"`
	Username      string    `json:"username"`
	Password      string    `json:"-"` // never serialised by accident
	ExpiresAt     time.Time `json:"expiresAt"`
}

// String never shows the password.
func (a Auth) String() string {
	return fmt.Sprintf("%s@%s (expires %s)", a.Username, a.Host, a.ExpiresAt.UTC().Format(time.RFC3339))
}

// Insecure reports whether the registry speaks plain HTTP (only the sandbox on loopback does).
func (a Auth) Insecure() bool { return strings.HasPrefix(a.ProxyEndpoint, "http://") }

// Login calls GetAuthorizationToken for the given registry IDs (none: the caller's account) and decodes
// each token, "AWS:<password>" in base64, valid 12 hours (reference).
func Login(ctx context.Context, client AuthorizationTokenAPI, registryIDs ...string) ([]Auth, error) {
	in := &ecr.GetAuthorizationTokenInput{}
	if len(registryIDs) > 0 {
		//lint:ignore SA1019 registryIds is deprecated upstream but still the way to get other accounts' tokens.
		in.RegistryIds = registryIDs
	}
	out, err := client.GetAuthorizationToken(ctx, in)
	if err != nil {
		return nil, apiError("ECR GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, errors.New("ECR GetAuthorizationToken returned no authorization data")
	}
	var auths []Auth
	for _, d := range out.AuthorizationData {
		if d.AuthorizationToken == nil || d.ProxyEndpoint == nil {
			return nil, errors.New("ECR GetAuthorizationToken returned an entry without token or endpoint")
		}
		user, pass, err := decodeToken("ECR", *d.AuthorizationToken)
		if err != nil {
			return nil, err
		}
		host, err := hostOf(*d.ProxyEndpoint)
		if err != nil {
			return nil, err
		}
		a := Auth{Host: host, ProxyEndpoint: *d.ProxyEndpoint, Username: user, Password: pass}
		if d.ExpiresAt != nil {
			a.ExpiresAt = *d.ExpiresAt
		}
		auths = append(auths, a)
	}
	return auths, nil
}

// hostOf takes the registry host from proxyEndpoint ("https://<registry>").
func hostOf(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("ECR returned a proxyEndpoint %q that is not a URL", endpoint)
	}
	return strings.ToLower(u.Host), nil
}

// PublicHost is ECR Public's registry host.
const PublicHost = "public.ecr.aws"

// PublicAuthorizationTokenAPI is the ECR Public call LoginPublic needs.
type PublicAuthorizationTokenAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecrpublic.GetAuthorizationTokenInput, optFns ...func(*ecrpublic.Options)) (*ecrpublic.GetAuthorizationTokenOutput, error)
}

// LoginPublic logs in to ECR Public (public.ecr.aws), which raises the pull limits anonymous clients
// get. The API lives in us-east-1 only.
func LoginPublic(ctx context.Context, client PublicAuthorizationTokenAPI) (Auth, error) {
	out, err := client.GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
	if err != nil {
		return Auth{}, apiError("ECR Public GetAuthorizationToken", err)
	}
	d := out.AuthorizationData
	if d == nil || d.AuthorizationToken == nil {
		return Auth{}, errors.New("ECR Public GetAuthorizationToken returned no token")
	}
	user, pass, err := decodeToken("ECR Public", *d.AuthorizationToken)
	if err != nil {
		return Auth{}, err
	}
	a := Auth{Host: PublicHost, ProxyEndpoint: "https://" + PublicHost, Username: user, Password: pass}
	if d.ExpiresAt != nil {
		a.ExpiresAt = *d.ExpiresAt
	}
	return a, nil
}

// decodeToken splits an authorization token, base64 of "USER:PASSWORD". The token never appears in
// the error.
func decodeToken(service, token string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", "", errors.New(service + " returned an authorization token that is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return "", "", errors.New(service + " returned an authorization token that is not USER:PASSWORD")
	}
	return user, pass, nil
}
