# The ecr-ptc BuildKit frontend (buildkit-frontend/README.md). Included by the top Makefile:
#   include buildkit-frontend/frontend.mk
# Nothing here needs Docker: the image is assembled with go-containerregistry (buildkit-frontend/cmd/mkimage).

GO                 ?= go
BIN                ?= bin
FRONTEND_PLATFORMS ?= linux/amd64 linux/arm64
FRONTEND_DIST      ?= dist
FRONTEND_TAR       ?= $(FRONTEND_DIST)/ecr-ptc-frontend.oci.tar
FRONTEND_REF_NAME  ?= ecr-ptc-frontend:$(or $(VERSION),dev)
# The embedded Dockerfile frontend reports its version from BuildKit's; stamp the pinned one.
FRONTEND_BUILDKIT  := $(shell $(GO) list -m -f '{{.Version}}' github.com/moby/buildkit 2>/dev/null)
FRONTEND_LDFLAGS   := -s -w -X github.com/moby/buildkit/version.Version=$(FRONTEND_BUILDKIT)
FRONTEND_TAGS      := netgo osusergo static_build
MKIMAGE            := $(GO) run ./buildkit-frontend/cmd/mkimage

.PHONY: frontend-image frontend-push frontend-push-usage frontend-sizes bench-frontend test-frontend

# frontend_build(pkg, name, ldflags): static binaries $(BIN)/<name>-<os>-<arch> for every platform, and the
# matching --binary arguments for mkimage in $(BIN)/<name>.args.
define frontend_build
	@mkdir -p $(BIN)
	@args=; for p in $(FRONTEND_PLATFORMS); do \
	  os=$${p%%/*}; arch=$${p#*/}; out=$(BIN)/$(2)-$$os-$$arch; \
	  echo "go build $(1) for $$p"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -tags '$(FRONTEND_TAGS)' -ldflags '$(3)' -o $$out $(1); \
	  args="$$args --binary $$p=$$out"; \
	done; echo "$$args" > $(BIN)/$(2).args
endef

frontend-image: ## the frontend image for FRONTEND_PLATFORMS as an OCI layout tarball ($(FRONTEND_TAR))
	$(call frontend_build,./buildkit-frontend,ecr-ptc-frontend,$(FRONTEND_LDFLAGS))
	@mkdir -p $(FRONTEND_DIST)
	$(MKIMAGE) build $$(cat $(BIN)/ecr-ptc-frontend.args) --path /bin/ecr-ptc-frontend --ref-name $(FRONTEND_REF_NAME) --out $(FRONTEND_TAR)

# Without REF the usage error comes before the image is built.
frontend-push: $(if $(REF),,frontend-push-usage) frontend-image ## push the image: make frontend-push REF=registry/repo:tag (plain http for loopback registries)
	$(MKIMAGE) push --layout $(FRONTEND_TAR) $(REF)

frontend-push-usage:
	@echo "usage: make frontend-push REF=registry/repository:tag" >&2; exit 2

frontend-sizes: frontend-image ## our image beside the stock Dockerfile frontend of the same BuildKit, packaged the same way and as its release Dockerfile links it
	$(call frontend_build,github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend,dockerfile-frontend,$(FRONTEND_LDFLAGS))
	$(MKIMAGE) build $$(cat $(BIN)/dockerfile-frontend.args) --path /bin/dockerfile-frontend --out $(FRONTEND_DIST)/dockerfile-frontend.oci.tar
	@# The docker/dockerfile release links with -d and keeps the symbol table (no -s -w).
	$(call frontend_build,github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend,dockerfile-frontend-release,-d -X github.com/moby/buildkit/version.Version=$(FRONTEND_BUILDKIT))
	$(MKIMAGE) build $$(cat $(BIN)/dockerfile-frontend-release.args) --path /bin/dockerfile-frontend --out $(FRONTEND_DIST)/dockerfile-frontend-release.oci.tar
	@for f in ecr-ptc-frontend dockerfile-frontend dockerfile-frontend-release; do echo "== $$f"; $(MKIMAGE) size --layout $(FRONTEND_DIST)/$$f.oci.tar; done

bench-frontend: ## warm build through the frontend vs the stock one on a real buildkitd: median ratio and image sizes
	$(GO) test ./shared/frontend -run '^$$' -bench '^BenchmarkFrontend$$' -benchtime $${BENCHTIME:-20x} -count 1 -v

test-frontend: ## the frontend's tests, the real-buildkitd end-to-end ones included
	$(GO) test -race -count=1 -v ./shared/frontend ./shared/frontendimage ./shared/mirrorconfig

# --- Compatibility: the end-to-end suite on older BuildKit releases and Docker Engine's BuildKit. ---
COMPAT_BUILDKIT ?= v0.12.5 v0.16.0 v0.20.2 v0.26.3 $(FRONTEND_BUILDKIT)
COMPAT_CACHE    ?= $(HOME)/.cache/ecr-ptc/buildkitd-compat
COMPAT_DOCKER   ?= 1
COMPAT_RUN      ?= TestE2EFrontend

.PHONY: test-compat

test-compat: ## the frontend's end-to-end suite on each buildkitd in COMPAT_BUILDKIT (built once from the module proxy into COMPAT_CACHE), then under Docker Engine's embedded BuildKit (COMPAT_DOCKER=1)
	@failed=; for v in $(COMPAT_BUILDKIT); do \
	  if [ "$$v" = "$(FRONTEND_BUILDKIT)" ]; then bkd=; else buildkit-frontend/build-buildkitd.sh $$v $(COMPAT_CACHE); bkd=$(COMPAT_CACHE)/$$v/buildkitd; fi; \
	  echo "== buildkitd $$v"; start=$$(date +%s); \
	  if ECR_PTC_BUILDKITD=$$bkd $(GO) test -count=1 -timeout 40m -run '^($(COMPAT_RUN))$$' ./shared/frontend; then r=ok; else r=FAILED; failed="$$failed $$v"; fi; \
	  echo "== buildkitd $$v: $$r in $$(( $$(date +%s) - start ))s"; \
	done; \
	if [ "$(COMPAT_DOCKER)" = 1 ]; then \
	  echo "== Docker Engine (dockerd $$(dockerd --version 2>/dev/null | sed 's/^Docker version //'))"; start=$$(date +%s); \
	  if $(GO) test -count=1 -timeout 40m -run '^TestE2EDockerEngine$$' ./shared/frontend; then r=ok; else r=FAILED; failed="$$failed docker"; fi; \
	  echo "== Docker Engine: $$r in $$(( $$(date +%s) - start ))s"; \
	fi; \
	if [ -n "$$failed" ]; then echo "test-compat failed on:$$failed" >&2; exit 1; fi
