FROM node:20 AS base
ONBUILD COPY --from=busybox:1.36 /bin/busybox /bin/busybox
ONBUILD RUN --mount=type=bind,from=ghcr.io/acme/assets:1,target=/assets cp -r /assets /srv
ONBUILD COPY --from=helper /x /x
ONBUILD RUN echo hello

FROM alpine:3.19 AS helper

FROM base AS app
RUN node --version

FROM python:3.12 AS lib
ONBUILD COPY --from=quay.io/acme/data:2024 /data /data
