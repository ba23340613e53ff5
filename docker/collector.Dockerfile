# syntax=docker/dockerfile:1.7
# The collector: the edge agent, one per gateway. Build from the repository root:
#   docker build -f docker/collector.Dockerfile -t edge-telemetry/collector .
# (docker/build-multiarch.sh builds it for amd64, arm64 and arm/v7.)
#
# Base pinned by version tag. Release builds should pin the digest as well, resolved with
#   docker buildx imagetools inspect node:20.20.2-alpine
# and passed as --build-arg NODE_IMAGE=node:20.20.2-alpine@sha256:<digest>.
ARG NODE_IMAGE=node:20.20.2-alpine

# 1. Compile TypeScript and bundle the collector (scripts/bundle.mjs). Install scripts are skipped:
#    tsc and esbuild (its platform binary is an optional dependency) need no native module.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/collector/package.json packages/collector/
COPY packages/ingester/package.json packages/ingester/
COPY packages/cli/package.json packages/cli/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/protocol packages/protocol
COPY packages/collector packages/collector
RUN npx tsc -b packages/collector && node packages/collector/scripts/bundle.mjs

# 2. Production dependencies of the collector workspace only (npm ci -w installs just that
#    workspace's tree). zstd-napi is compiled from source against musl by node-gyp, with the
#    headers the base image ships (npm_config_nodedir), so the build downloads no binaries.
FROM ${NODE_IMAGE} AS deps
RUN apk add --no-cache python3 make g++
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/collector/package.json packages/collector/
COPY packages/ingester/package.json packages/ingester/
COPY packages/cli/package.json packages/cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @edge-telemetry/collector \
 && npm rebuild zstd-napi --build-from-source \
 && test ! -e node_modules/chdb && test ! -e node_modules/fastify

# 3. Runtime: node, tini, the compiled packages and their production dependencies; no npm, no
#    compiler. Runs as the image's unprivileged `node` user on a read-only root filesystem: the
#    only writable path is the /data volume (outbox and full-log store).
FROM ${NODE_IMAGE} AS runtime
RUN apk add --no-cache tini \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    EDGE_TELEMETRY_COLLECTOR_DATA_DIR=/data \
    EDGE_TELEMETRY_COLLECTOR_HTTP_PORT=9464
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/packages/protocol/package.json packages/protocol/
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/collector/package.json packages/collector/
COPY --from=build /src/packages/collector/dist packages/collector/dist
COPY --from=build /src/packages/collector/bin packages/collector/bin
VOLUME ["/data"]
USER node
# Liveness and Prometheus metrics are served on the same loopback-reachable port. busybox wget,
# not a second node process: a health probe must not eat into the 128 MiB budget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD wget -q -T 3 -O /dev/null "http://127.0.0.1:${EDGE_TELEMETRY_COLLECTOR_HTTP_PORT}/healthz" || exit 1
# launch.sh reads the container's memory limit and execs node with launchFlags of it
# (--max-semi-space-size=2 --v8-pool-size=1 at 128 MiB, the heap bounded below), so `docker run -m`
# alone sizes V8.
ENTRYPOINT ["/sbin/tini", "--", "sh", "packages/collector/bin/launch.sh"]
