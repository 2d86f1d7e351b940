// Package live holds ecr-ptc's end-to-end scenarios against a real AWS account (build tag "live"; run
// with `make test-live`). Without the tag it is empty, so `go test ./...` never reaches AWS.
package live
