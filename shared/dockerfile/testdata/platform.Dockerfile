# syntax=docker/dockerfile:1.7
ARG GO_VERSION=1.22
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM alpine:3.19-${TARGETARCH} AS arch-tagged

FROM --platform=${TARGETPLATFORM} gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
COPY --from=arch-tagged /etc/os-release /etc/os-release
