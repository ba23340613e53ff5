# syntax=docker/dockerfile:1.7
# The ingester: MQTT consumer, ClickHouse writer, HTTP API. Build from the repository root:
#   docker build -f docker/ingester.Dockerfile -t edge-telemetry/ingester .
#
# Production writes to a ClickHouse server (CLICKHOUSE_URL), so the embedded engine (chdb, a
# dependency of the ingester package for `npm start` and the tests) is NOT in this image: it is
# installed without its install script (which would fetch libchdb) and then deleted in the deps
# stage, before anything is copied into the runtime stage.
#
# Base pinned by version tag. Release builds should pin the digest as well, resolved with
#   docker buildx imagetools inspect node:20.20.2-alpine
# and passed as --build-arg NODE_IMAGE=node:20.20.2-alpine@sha256:<digest>.
ARG NODE_IMAGE=node:20.20.2-alpine

# 1. Compile TypeScript. Install scripts are skipped: tsc needs no native module.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/collector/package.json packages/collector/
COPY packages/ingester/package.json packages/ingester/
COPY packages/cli/package.json packages/cli/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/protocol packages/protocol
COPY packages/ingester packages/ingester
RUN npx tsc -b packages/ingester

# 2. Production dependencies of the ingester workspace only, no install scripts; then chdb and
#    its platform libraries are removed and zstd-napi is compiled from source against musl.
FROM ${NODE_IMAGE} AS deps
RUN apk add --no-cache python3 make g++
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/collector/package.json packages/collector/
COPY packages/ingester/package.json packages/ingester/
COPY packages/cli/package.json packages/cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @edge-telemetry/ingester \
 && rm -rf node_modules/chdb node_modules/@chdb \
 && npm rebuild zstd-napi --build-from-source \
 && test ! -e node_modules/chdb

# 3. Runtime: node, tini, the compiled packages and their production dependencies; no npm, no
#    compiler, no chdb. Runs as the unprivileged `node` user on a read-only root filesystem; it
#    keeps no local state (ClickHouse and the broker hold it), /tmp is a tmpfs in compose.
FROM ${NODE_IMAGE} AS runtime
RUN apk add --no-cache tini \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production \
    EDGE_TELEMETRY_INGESTER_HTTP_HOST=0.0.0.0 \
    EDGE_TELEMETRY_INGESTER_HTTP_PORT=8080
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/packages/protocol/package.json packages/protocol/
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/ingester/package.json packages/ingester/
COPY --from=build /src/packages/ingester/dist packages/ingester/dist
COPY --from=build /src/packages/ingester/bin packages/ingester/bin
COPY --from=build /src/packages/ingester/ui-assets packages/ingester/ui-assets
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD wget -q -T 3 -O /dev/null "http://127.0.0.1:${EDGE_TELEMETRY_INGESTER_HTTP_PORT}/healthz" || exit 1
ENTRYPOINT ["/sbin/tini", "--", "node", "packages/ingester/bin/ingester.js"]
