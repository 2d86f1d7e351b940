# CI front doors (issue 5): `include ci.mk` from the Makefile. Every target here is also part of `make test`
# (go test ./...); these run just the doors, e.g. while working on action.yml or the GitLab component.
# The end-to-end tests need act, gitlab-ci-local, shellcheck and rsync: see `make ci-doors-tools`.

ACT_VERSION             ?= v0.2.89
GITLAB_CI_LOCAL_VERSION ?= 4.73.0

.PHONY: test-ci-doors ci-doors-tools ci-doors-update

test-ci-doors: ## the GitHub Action (under act), the GitLab component (under gitlab-ci-local), CodeBuild, schemas, lint
	$(GO) test -race -count=1 ./actions/... ./codebuild/... ./gitlab/... ./shared/report/... ./shared/cli/ -run 'Act|Action|Shellcheck|Door|GitLab|Classic|Section|Buildspec|CodeBuild|Markdown|JUnit|Dotenv|Metadata|Merge|Report'

ci-doors-tools: ## install what the door tests run (as root, on Debian): act, gitlab-ci-local, shellcheck, rsync, git
	apt-get install -y --no-install-recommends shellcheck rsync git curl
	$(GO) install github.com/nektos/act@$(ACT_VERSION)
	npm install -g gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION)

ci-doors-update: ## regenerate the golden files and the classic GitLab template
	$(GO) test ./shared/report -run 'Golden|Dotenv' -update
	$(GO) test ./gitlab -run TestClassicTemplateUpToDate -update
