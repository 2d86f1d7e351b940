package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/ecr-ptc/ecr-ptc/shared/sandbox"
)

func do(sb *sandbox.Sandbox, svc, endpoint, target string, body string, ctype string) {
	req, _ := http.NewRequest("POST", endpoint+"/", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", ctype)
	if target != "" {
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921."+target)
	}
	sum := sha256.Sum256([]byte(body))
	_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: sb.AccessKeyID, SecretAccessKey: sb.SecretAccessKey}, req, hex.EncodeToString(sum[:]), svc, sb.Region, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), resp.Header.Get("Date"))
	fmt.Println(string(b))
}

func main() {
	sb, err := sandbox.Start(context.Background(), sandbox.Config{NoSeed: true})
	if err != nil {
		panic(err)
	}
	do(sb, "ecr", sb.ECREndpoint, "GetAuthorizationToken", "{}", "application/x-amz-json-1.1")
	do(sb, "ecr", sb.ECREndpoint, "DescribeImages", `{"repositoryName":"a/b"}`, "application/x-amz-json-1.1")
	do(sb, "ecr", sb.ECREndpoint, "CreatePullThroughCacheRule", `{"ecrRepositoryPrefix":"X","upstreamRegistryUrl":"quay.io","credentialArn":"arn:bad"}`, "application/x-amz-json-1.1")
	do(sb, "ecr", sb.ECREndpoint, "CreatePullThroughCacheRule", `{"ecrRepositoryPrefix":"quay","upstreamRegistryUrl":"quay.io"}`, "application/x-amz-json-1.1")
	do(sb, "ecr", sb.ECREndpoint, "DescribePullThroughCacheRules", `{}`, "application/x-amz-json-1.1")
	do(sb, "ecr", sb.ECREndpoint, "Nope", `{}`, "application/x-amz-json-1.1")
	do(sb, "sts", sb.STSEndpoint, "", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}.Encode(), "application/x-www-form-urlencoded")
	tok, _ := sb.MintToken(nil, time.Hour)
	do(sb, "sts", sb.STSEndpoint, "", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::123456789012:role/x"}, "RoleSessionName": {"s"}, "WebIdentityToken": {tok}}.Encode(), "application/x-www-form-urlencoded")
	do(sb, "sts", sb.STSEndpoint, "", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::123456789012:role/x"}, "RoleSessionName": {"sess"}, "WebIdentityToken": {tok}}.Encode(), "application/x-www-form-urlencoded")
	resp, _ := http.Get(sb.OIDCIssuer + "/.well-known/openid-configuration")
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(string(b))
	resp, _ = http.Get(sb.OIDCIssuer + "/.well-known/jwks")
	b, _ = io.ReadAll(resp.Body)
	fmt.Println(string(b))
}
