# Multi-stage: stage names that look like images, every kind of --from.
FROM golang:1.22 AS alpine
RUN go version

FROM alpine AS builder
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,from=alpine,source=/usr/local/go,target=/go \
    --mount=type=bind,from=busybox:1.36,source=/bin/busybox,target=/bb \
    go build ./...

FROM debian:bookworm-slim AS unused
RUN --mount=from=quay.io/prometheus/busybox:latest,target=/pb true

FROM ubuntu:22.04 AS Tester
COPY --from=0 /usr/local/go /go
COPY --from=builder /src /src
RUN --mount="type=bind,from=ghcr.io/acme/fixtures:v2,target=/fixtures" make test

FROM scratch AS final
COPY --from=builder /out /
COPY --from=nginx:1.25-alpine /etc/nginx/nginx.conf /etc/nginx/nginx.conf
COPY --link --from=docker.io/library/busybox:1.36 /bin/busybox /bin/busybox
