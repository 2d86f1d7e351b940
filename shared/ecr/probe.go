package ecr

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// DescribeImagesAPI describes images in a repository.
type DescribeImagesAPI interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// ProbeOutcome says whether the cache holds an image.
type ProbeOutcome string

// Probe outcomes.
const (
	Hit  ProbeOutcome = "hit"  // the cache holds the image
	Miss ProbeOutcome = "miss" // it does not (yet)
)

// ProbeResult is what DescribeImages told about one cache image.
type ProbeResult struct {
	Outcome   ProbeOutcome `json:"outcome"`
	Digest    string       `json:"digest,omitempty"`
	Size      int64        `json:"size,omitempty"` // for an index, ECR reports the largest child (reference)
	PushedAt  time.Time    `json:"pushedAt,omitzero"`
	MediaType string       `json:"mediaType,omitempty"`
	Tags      []string     `json:"tags,omitempty"`
	// Reason explains a miss: no repository yet (a certain cold miss) or no such image.
	Reason string `json:"reason,omitempty"`
}

// Probe asks DescribeImages whether repository holds tag (or digest, when tag is empty). A missing
// repository or image is a miss, not an error (reference: RepositoryNotFoundException means a certain
// cold miss). lastRecordedPullTime updates about once a day, so it is not used.
func Probe(ctx context.Context, client DescribeImagesAPI, repository, tag, digest string) (ProbeResult, error) {
	id := types.ImageIdentifier{}
	switch {
	case tag != "":
		id.ImageTag = aws.String(tag)
	case digest != "":
		id.ImageDigest = aws.String(digest)
	default:
		return ProbeResult{}, errors.New("probe needs a tag or a digest")
	}
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repository), ImageIds: []types.ImageIdentifier{id}})
	var noRepo *types.RepositoryNotFoundException
	var noImage *types.ImageNotFoundException
	switch {
	case errors.As(err, &noRepo):
		return ProbeResult{Outcome: Miss, Reason: "the cache repository " + repository + " does not exist yet: the first pull creates it"}, nil
	case errors.As(err, &noImage):
		return ProbeResult{Outcome: Miss, Reason: "not in the cache yet"}, nil
	case err != nil:
		return ProbeResult{}, withPermissionFix(apiError("ECR DescribeImages for "+repository, err))
	}
	if len(out.ImageDetails) == 0 {
		return ProbeResult{Outcome: Miss, Reason: "not in the cache yet"}, nil
	}
	d := out.ImageDetails[0]
	r := ProbeResult{Outcome: Hit, Digest: aws.ToString(d.ImageDigest), Size: aws.ToInt64(d.ImageSizeInBytes), MediaType: aws.ToString(d.ImageManifestMediaType), Tags: d.ImageTags}
	if d.ImagePushedAt != nil {
		r.PushedAt = *d.ImagePushedAt
	}
	return r, nil
}
