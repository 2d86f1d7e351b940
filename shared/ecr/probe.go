package ecr

import (
	"context"
	"errors"
	"slices"
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
	return hit(out.ImageDetails[0]), nil
}

// ProbeID names one image of a repository for ProbeRepository: by tag, or by digest when Tag is empty.
type ProbeID struct {
	Tag    string
	Digest string
}

// maxImageIDs is DescribeImages' limit on imageIds (model: ImageIdentifierList min 1, max 100).
const maxImageIDs = 100

// ProbeRepository probes many images of one repository with as few DescribeImages calls as the answer
// allows, so that a setup's calls grow with the repositories it touches, not the images:
//   - one call with every id batched (up to 100 a call): when the cache holds them all, that is the answer;
//   - when it does not, DescribeImages fails the whole call with ImageNotFoundException (its response has
//     no per-id failures list, unlike BatchGetImage's, in the model), so one paginated listing of the
//     repository (up to 1,000 images a page) tells each id's hit or miss;
//   - RepositoryNotFoundException makes every id a certain cold miss.
//
// BatchGetImage would report per-id failures in one call, but it is a pull: it records a pull time
// and, through a pull-through rule, may import the image — a probe must not have side effects.
// calls, when not nil, counts the calls made.
func ProbeRepository(ctx context.Context, client DescribeImagesAPI, repository string, ids []ProbeID, calls *int) ([]ProbeResult, error) {
	out := make([]ProbeResult, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	for _, id := range ids {
		if id.Tag == "" && id.Digest == "" {
			return nil, errors.New("probe needs a tag or a digest")
		}
	}
	count := func() {
		if calls != nil {
			*calls++
		}
	}
	if len(ids) <= maxImageIDs {
		req := make([]types.ImageIdentifier, len(ids))
		for i, id := range ids {
			req[i] = identifier(id)
		}
		count()
		res, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repository), ImageIds: req})
		var noRepo *types.RepositoryNotFoundException
		var noImage *types.ImageNotFoundException
		switch {
		case errors.As(err, &noRepo):
			for i := range out {
				out[i] = ProbeResult{Outcome: Miss, Reason: "the cache repository " + repository + " does not exist yet: the first pull creates it"}
			}
			return out, nil
		case errors.As(err, &noImage):
			// Some id is missing: list the repository below.
		case err != nil:
			return nil, apiError("ECR DescribeImages for "+repository, err)
		default:
			for i, id := range ids {
				out[i] = match(res.ImageDetails, id)
			}
			return out, nil
		}
	}
	var details []types.ImageDetail
	p := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{RepositoryName: aws.String(repository), MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		count()
		page, err := p.NextPage(ctx)
		var noRepo *types.RepositoryNotFoundException
		if errors.As(err, &noRepo) {
			details = nil // deleted between the calls: every id is a miss
			break
		}
		if err != nil {
			return nil, apiError("ECR DescribeImages for "+repository, err)
		}
		details = append(details, page.ImageDetails...)
	}
	for i, id := range ids {
		out[i] = match(details, id)
	}
	return out, nil
}

func identifier(id ProbeID) types.ImageIdentifier {
	if id.Tag != "" {
		return types.ImageIdentifier{ImageTag: aws.String(id.Tag)}
	}
	return types.ImageIdentifier{ImageDigest: aws.String(id.Digest)}
}

// match finds id among details: by tag when it has one, else by digest.
func match(details []types.ImageDetail, id ProbeID) ProbeResult {
	for _, d := range details {
		if id.Tag != "" && !slices.Contains(d.ImageTags, id.Tag) {
			continue
		}
		if id.Tag == "" && aws.ToString(d.ImageDigest) != id.Digest {
			continue
		}
		return hit(d)
	}
	return ProbeResult{Outcome: Miss, Reason: "not in the cache yet"}
}

func hit(d types.ImageDetail) ProbeResult {
	r := ProbeResult{Outcome: Hit, Digest: aws.ToString(d.ImageDigest), Size: aws.ToInt64(d.ImageSizeInBytes), MediaType: aws.ToString(d.ImageManifestMediaType), Tags: d.ImageTags}
	if d.ImagePushedAt != nil {
		r.PushedAt = *d.ImagePushedAt
	}
	return r
}
