# Repositories built from variables (issue 15): rewritten where the build's values are known.
ARG REG=quay.io
ARG BASE=debian:bookworm
ARG MIRROR=ghcr.io/acme
ARG APP_IMAGE=${MIRROR}/app
ARG SHARED=docker.io

FROM ${REG}/prometheus/node-exporter:v1.8.0 AS exporter

FROM ${MISSING_BASE:-amazonlinux:2023} AS al

FROM ${BASE} AS base

FROM ${APP_IMAGE}:${APP_TAG-1.0} AS app

FROM ${HUB-docker.io}/library/redis:7 AS redis

FROM ${SHARED}/library/node:20 AS node
FROM ${SHARED}/bitnami/nginx:1.27 AS nginx

FROM ${REG}/coreos/etcd:v3.5 AS etcd
COPY --from=exporter / /e
COPY --from=al / /a
COPY --from=base / /b
COPY --from=app / /c
COPY --from=redis / /r
COPY --from=node / /n
COPY --from=nginx / /x
