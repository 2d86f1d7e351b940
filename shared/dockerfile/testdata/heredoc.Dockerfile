# syntax=docker/dockerfile:1
FROM alpine:3.19 AS base
RUN <<EOT
echo "FROM ubuntu:22.04 is not an instruction here"
cat > /etc/motd <<'EOM'
COPY --from=nginx /x /y
EOM
EOT
COPY <<-EOF /etc/app.conf
	FROM debian
	image=node:20
EOF

FROM base
RUN --mount=type=bind,from=node:20-alpine,target=/node <<EOT
  ls /node
EOT
COPY --from=nginx:1.25 <<EOF /etc/note
FROM busybox
EOF
