# Global ARGs: chains, defaults, overrides.
ARG REGISTRY=ghcr.io
ARG ORG=acme
ARG IMAGE=${REGISTRY}/${ORG}/toolbox
ARG NODE_VERSION=20.11
ARG NODE_IMAGE=node:${NODE_VERSION}-alpine
ARG BASE=python:3.12-slim
ARG DISTRO
ARG GO_VERSION=1.22
ARG UNUSED=${DISTRO:-debian}:${DISTRO:+set}

FROM ${IMAGE}:latest AS tools
RUN echo tools

FROM node:${NODE_VERSION} AS web
COPY --from=tools /bin/tool /usr/local/bin/tool

FROM $BASE AS py
RUN pip --version

FROM ${DISTRO:-debian}:bookworm AS distro

FROM golang:${GO_VERSION}@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS pinned

FROM ${NODE_IMAGE}
COPY --from=web /app /app
COPY --from=py / /py
COPY --from=distro / /distro
COPY --from=pinned / /pinned
