# syntax=docker/dockerfile:1
# wasikvd and the wasikv CLI on Debian 12.
#   docker build -t wasikv .        (podman: see tests/container/)
#   docker run -p 127.0.0.1:50051:50051 -v wasikv-data:/data wasikv
# The build stage runs the project's own installer, so the package list lives
# only in deploy/quickstart.sh; the runtime stage installs just the packages
# whose shared libraries the binaries load.

FROM debian:bookworm AS build
WORKDIR /src
# Only the installer first: the apt layer stays cached across source edits.
COPY deploy/quickstart.sh deploy/quickstart.sh
RUN deploy/quickstart.sh deps && rm -rf /var/lib/apt/lists/*
COPY . .
# ccache persists in a build cache mount, so a rebuild after a small edit
# recompiles only what changed even though build/ starts empty.
ENV CCACHE_DIR=/root/.cache/ccache
# build/ goes in the same step: the layer keeps only the staged binaries.
RUN --mount=type=cache,target=/root/.cache/ccache \
    deploy/quickstart.sh build /stage \
 && deploy/quickstart.sh runtime-packages /stage/bin/wasikvd /stage/bin/wasikv /stage/bin/wasikv-bench \
      > /stage/runtime-packages \
 && rm -rf build \
 && ccache --show-stats

FROM debian:bookworm-slim
# Where the source lives is not recorded in the tree: pass it at build time
# (--build-arg SOURCE_URL=https://...).
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="wasikv" \
      org.opencontainers.image.description="wasikvd, a RocksDB key-value server over gRPC, with the wasikv CLI and wasikv-bench" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /stage/runtime-packages /tmp/runtime-packages
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages
RUN groupadd --gid 10001 wasikv \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin wasikv \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /stage/bin/wasikvd /stage/bin/wasikv /stage/bin/wasikv-bench /usr/bin/

ENV WASIKV_LISTEN=0.0.0.0:50051 \
    WASIKV_ADMIN_LISTEN=0.0.0.0:50052 \
    WASIKV_DATA_DIR=/data \
    WASIKV_LOG_FORMAT=json
# gRPC, and the admin HTTP port.
EXPOSE 50051 50052
VOLUME /data
WORKDIR /data
USER 10001:10001
# wasikvd drains calls and closes RocksDB on SIGTERM (within
# WASIKV_SHUTDOWN_TIMEOUT, 10s by default: give stop a grace period above it).
STOPSIGNAL SIGTERM
# The standard gRPC health service, asked with the CLI: exit 0 only on SERVING.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/usr/bin/wasikv", "--endpoint", "127.0.0.1:50051", "--timeout", "2s", "health"]
ENTRYPOINT ["/usr/bin/wasikvd"]
