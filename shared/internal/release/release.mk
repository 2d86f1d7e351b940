# Releases (docs/RELEASING.md). Included by the top Makefile. GoReleaser and cyclonedx-gomod are installed
# at pinned versions into $(BIN)/tools: they are tools, not requirements of the product's go.mod.
GORELEASER_VERSION      ?= v2.15.1
CYCLONEDX_GOMOD_VERSION ?= v1.10.0
RELEASE_TOOLS           := $(abspath $(BIN))/tools
RELEASE_BASE            := $(BIN)/release-base
RELEASE_SOURCE          ?= https://github.com/ecr-ptc/ecr-ptc
# No LICENSE file has been chosen yet: the images say NOASSERTION until one is.
RELEASE_LICENSES        ?= NOASSERTION
RELEASE_HOST_ARCH       := $(shell $(GO) env GOARCH)
# GoReleaser reads the commit only when `git ls-remote --get-url` answers: a clone without a remote (a local
# worktree) gets the project's URL through git's environment configuration, leaving .git/config alone.
RELEASE_NO_REMOTE       := $(if $(shell git remote 2>/dev/null),,GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=$(RELEASE_SOURCE).git)
# snapshot (make release-snapshot) or release (the release workflow, on a tag).
GORELEASER_ARGS         ?= release --snapshot --clean

.PHONY: release-snapshot release-dist release-images release-check-reproducible

$(RELEASE_TOOLS)/.goreleaser-$(GORELEASER_VERSION):
	GOBIN=$(RELEASE_TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	@touch $@

$(RELEASE_TOOLS)/.cyclonedx-gomod-$(CYCLONEDX_GOMOD_VERSION):
	GOBIN=$(RELEASE_TOOLS) $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_GOMOD_VERSION)
	@touch $@

$(RELEASE_BASE)/applets.txt:
	bash .ci/release-base.sh $(RELEASE_BASE)

release-dist: $(RELEASE_TOOLS)/.goreleaser-$(GORELEASER_VERSION) $(RELEASE_TOOLS)/.cyclonedx-gomod-$(CYCLONEDX_GOMOD_VERSION)
	$(RELEASE_NO_REMOTE) PATH="$(RELEASE_TOOLS):$$PATH" BUILDKIT_VERSION=$(FRONTEND_BUILDKIT) \
	  $(RELEASE_TOOLS)/goreleaser $(GORELEASER_ARGS) --config .ci/goreleaser.yaml

release-images: $(RELEASE_BASE)/applets.txt
	$(GO) run ./shared/cmd/release images --dist dist --source $(RELEASE_SOURCE) --licenses $(RELEASE_LICENSES) \
	  --created "$$(git log -1 --format=%cI)" \
	  --busybox linux/amd64=$(RELEASE_BASE)/busybox-linux-amd64 --busybox linux/arm64=$(RELEASE_BASE)/busybox-linux-arm64 \
	  --applets $(RELEASE_BASE)/applets.txt --ca-certs /etc/ssl/certs/ca-certificates.crt

release-snapshot: ## a snapshot release in dist/: archives, checksums, SBOMs, the tool and frontend images (no Docker)
	$(MAKE) --no-print-directory release-dist
	$(MAKE) --no-print-directory release-images
	cd dist && sha256sum -c checksums.txt

release-check-reproducible: ## two snapshot runs of this commit must give the same checksums and image digests
	$(MAKE) --no-print-directory release-snapshot
	mkdir -p $(BIN)/reproducible && cp dist/checksums.txt dist/images.txt $(BIN)/reproducible/
	@# RELEASE_REPRO_COLD=1: the second run compiles everything again in an empty build cache of its own
	@# (minutes more); by default it reuses Go's cache, so it checks the archives, SBOMs and images.
	rm -rf $(BIN)/reproducible/gocache
	$(if $(RELEASE_REPRO_COLD),GOCACHE=$(abspath $(BIN))/reproducible/gocache) $(MAKE) --no-print-directory release-snapshot
	rm -rf $(BIN)/reproducible/gocache
	diff -u $(BIN)/reproducible/checksums.txt dist/checksums.txt
	diff -u $(BIN)/reproducible/images.txt dist/images.txt
	@echo "reproducible: checksums.txt and both image digests are the same in two runs"
