#!/usr/bin/env bash
# The real flow against the embedded sandbox: run by `make demo` as
#   bin/ecr-ptc sandbox -- bash examples/demo.sh
# which starts a local ECR with the pull-through cache and gives this script its environment
# (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS, credentials, ECR_PTC_REGISTRY, ECR_PTC_SANDBOX_STATS and
# ECR_PTC_SANDBOX_TOKEN, which `ecr-ptc sandbox stats` presents to the stats endpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
ecr_ptc=${ECR_PTC:-bin/ecr-ptc}

# Keep the user's own Docker config out of it.
DOCKER_CONFIG=$(mktemp -d)
export DOCKER_CONFIG
trap 'rm -rf "$DOCKER_CONFIG"' EXIT

secret="arn:aws:secretsmanager:${AWS_REGION}:123456789012:secret:ecr-pullthroughcache/demo"

echo "== rules ensure: create the rules examples/ needs"
"$ecr_ptc" rules ensure examples/ --credential-arn "$secret"
"$ecr_ptc" rules list
echo

echo "== setup, cold: login, scan, probe (misses), warm through the cache, report"
"$ecr_ptc" setup examples/ --report-json "$DOCKER_CONFIG/report-cold.json"
"$ecr_ptc" sandbox stats
echo

echo "== setup, warm: every image is a hit, nothing goes upstream"
"$ecr_ptc" sandbox stats --reset >/dev/null
"$ecr_ptc" setup examples/ --report-json "$DOCKER_CONFIG/report-warm.json"
"$ecr_ptc" sandbox stats
echo

echo "== fresh and affordable: is anything behind its upstream tag? what do the cache repositories cost?"
"$ecr_ptc" stale examples/
echo "-- upstream publishes a new node:20-bookworm-slim: the cache serves the old digest until its daily re-check"
"$ecr_ptc" sandbox move-tag docker-hub library/node:20-bookworm-slim
"$ecr_ptc" stale examples/ --fail-on-stale || echo "(stale exited $?: --fail-on-stale)"
"$ecr_ptc" refresh node:20-bookworm-slim
"$ecr_ptc" refresh node:20-bookworm-slim --yes
"$ecr_ptc" stale examples/ --fail-on-stale
"$ecr_ptc" cache report --unpulled-days 30
"$ecr_ptc" cache lifecycle --expire-untagged-days 1 --expire-unpulled-days 90 --apply >/dev/null
"$ecr_ptc" cache lifecycle --expire-untagged-days 1 --expire-unpulled-days 90
