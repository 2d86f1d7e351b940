package iampolicy_test

import (
	"strings"
	"testing"

	"github.com/ecr-ptc/ecr-ptc/shared/iampolicy"
)

// ARNs carry the region's partition (ecrhost.PartitionOf), or the one a registry host named.
func TestPartitions(t *testing.T) {
	for _, c := range []struct {
		region, partition, want string
	}{
		{"us-east-1", "", "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*"},
		{"cn-north-1", "", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/docker-hub/*"},
		{"us-gov-west-1", "", "arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/docker-hub/*"},
		{"eusc-de-east-1", "", "arn:aws-eusc:ecr:eusc-de-east-1:123456789012:repository/docker-hub/*"},
		{"us-iso-east-1", "", "arn:aws-iso:ecr:us-iso-east-1:123456789012:repository/docker-hub/*"},
		{"eu-isoe-west-1", "", "arn:aws-iso-e:ecr:eu-isoe-west-1:123456789012:repository/docker-hub/*"},
		{"", "", "arn:aws:ecr:*:123456789012:repository/docker-hub/*"},
		{"", "aws-cn", "arn:aws-cn:ecr:*:123456789012:repository/docker-hub/*"},
	} {
		d := iampolicy.CI(iampolicy.Options{Account: "123456789012", Region: c.region, Partition: c.partition, Prefixes: []string{"docker-hub"}})
		got := d.Statement[2].Resource[0]
		if got != c.want {
			t.Errorf("region %q partition %q: %s, want %s", c.region, c.partition, got, c.want)
		}
	}
	d := iampolicy.CI(iampolicy.Options{Prefixes: []string{"ROOT"}})
	if got := d.Statement[2].Resource[0]; got != "arn:aws:ecr:*:*:repository/*" || !strings.Contains(strings.Join(d.Statement[2].Action, ","), "ecr:BatchImportUpstreamImage") {
		t.Errorf("ROOT: %v", d.Statement[2])
	}
}
