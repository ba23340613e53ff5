/**
 * The HTTP API v1 (fastify 5): a typebox schema on every route, OpenAPI at /docs (swagger-ui's
 * assets are served from the package, no CDN), errors as { code, message, statusCode }.
 */
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import type { WriterState } from '../writer/writer.js';
import type { RouterCounters } from '../consumer/router.js';
import { prometheusText } from './prometheus.js';
import {
  FleetQuery,
  FleetResponse,
  TemplatesQuery,
  TemplatesResponse,
  type FleetQueryT,
  type TemplatesQueryT,
  ErrorBody,
  Healthz,
  LogsQuery,
  LogsResponse,
  MetricsQuery,
  MetricsResponse,
  NodeParams,
  NodesResponse,
  Readyz,
  type LogsQueryT,
  type MetricsQueryT,
  type NodeParamsT,
} from './schemas.js';
import { fleetOverview, listNodes, metricSeries, searchLogs, seriesSource, topTemplates } from './queries.js';
import { chooseStep, timeRange } from './time-range.js';
import { uiPlugin } from '../ui/plugin.js';
import type { ReferenceStats } from '../references/store.js';
import type { TemplateTextStats } from '../template-texts/resolver.js';

export interface ApiDeps {
  client: ClickHouseClient;
  writerState: () => WriterState;
  consumerCounters: () => RouterCounters;
  /** The keyframe cache's counters, when the ingester decodes frames against references. */
  referenceStats?: () => ReferenceStats;
  templateTextStats?: () => TemplateTextStats;
  brokerConnected: () => boolean;
  onlineWindowS: number;
  /** Shared logger; without one fastify creates its own (pino) at `logLevel`. */
  logger?: FastifyBaseLogger;
  logLevel: string;
  now?: () => number;
}

export const API_LIMITS = {
  metricsDefaultSpanMs: 3_600_000,
  metricsMaxSpanMs: 31 * 86_400_000,
  maxPointsPerSeries: 1500,
  maxSeriesRows: 100_000,
  logsDefaultSpanMs: 15 * 60_000,
  logsMaxSpanMs: 7 * 86_400_000,
} as const;

const READY_PROBE_TIMEOUT_MS = 2000;

/** Reading telemetry: every role (auth/access.ts; undeclared routes need admin). */
const viewer = { role: 'viewer' as const };

const errors = { 400: { $ref: 'Error#' }, 404: { $ref: 'Error#' }, 500: { $ref: 'Error#' }, 503: { $ref: 'Error#' } };

export function buildApi(deps: ApiDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const app = deps.logger ? Fastify({ loggerInstance: deps.logger }) : Fastify({ logger: { level: deps.logLevel } });
  app.addSchema(ErrorBody);
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof IngesterError)
      return reply.status(err.statusCode).send({ code: err.code, message: err.message, statusCode: err.statusCode });
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation)
      return reply.status(400).send({ code: 'ET_ERR_BAD_REQUEST', message: e.message, statusCode: 400 });
    if (e.statusCode && e.statusCode < 500)
      return reply
        .status(e.statusCode)
        .send({ code: 'ET_ERR_BAD_REQUEST', message: e.message, statusCode: e.statusCode });
    req.log.error({ err }, 'request failed');
    return reply.status(503).send({
      code: 'ET_ERR_STORAGE_UNAVAILABLE',
      message: 'the query could not be answered; try again',
      statusCode: 503,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'ET_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}`, statusCode: 404 }),
  );

  void app.register(swagger, {
    openapi: {
      info: {
        title: 'edge-telemetry ingester API',
        version: '1.0.0',
        description: 'Fleet telemetry stored in ClickHouse.',
      },
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  // Routes live in a plugin loaded after swagger, so its onRoute hook sees every one of them.
  void app.register(async (api) => routes(api, deps, now));
  void app.register(uiPlugin, {});
  return app;
}

function routes(app: FastifyInstance, deps: ApiDeps, now: () => number): void {
  app.get('/healthz', { schema: { summary: 'The process is alive', response: { 200: Healthz } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'ClickHouse answers, the broker is connected and the writer is not backpressured',
        response: { 200: Readyz, 503: Readyz },
      },
    },
    async (_req, reply) => {
      let timer: NodeJS.Timeout | undefined;
      // A stalled engine must not stall the probe: no answer within the timeout counts as down.
      const clickhouse = await Promise.race([
        deps.client
          .query({ query: 'SELECT 1', format: 'JSONEachRow' })
          .then((r) => r.json())
          .then(() => true)
          .catch(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), READY_PROBE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      const w = deps.writerState();
      const broker = deps.brokerConnected();
      const ready = clickhouse && broker && !w.backpressured;
      const writer = {
        backpressured: w.backpressured,
        failing: w.failing,
        queuedBatches: w.queuedBatches,
        queuedRows: w.queuedRows,
        queuedBytes: w.queuedBytes,
        ...(w.lastError && w.failing ? { lastError: w.lastError } : {}),
      };
      return reply.status(ready ? 200 : 503).send({ ready, clickhouse, broker, writer });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: "The ingester's own counters (Prometheus text format)",
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_req, reply) =>
      reply.type('text/plain; version=0.0.4').send(
        prometheusText({
          writer: deps.writerState(),
          consumer: deps.consumerCounters(),
          brokerConnected: deps.brokerConnected(),
          references: deps.referenceStats?.(),
          templateTexts: deps.templateTextStats?.(),
        }),
      ),
  );

  app.get(
    '/api/v1/nodes',
    {
      config: viewer,
      schema: {
        summary: 'Nodes with last contact, status, containers and uplink bytes (24 h)',
        response: { 200: NodesResponse, ...errors },
      },
    },
    async () => listNodes(deps.client, now(), deps.onlineWindowS),
  );

  app.get<{ Params: NodeParamsT; Querystring: MetricsQueryT }>(
    '/api/v1/nodes/:node/metrics',
    {
      config: viewer,
      schema: {
        summary: 'Metric summaries bucketed by step, quantiles from merged sketches',
        params: NodeParams,
        querystring: MetricsQuery,
        response: { 200: MetricsResponse, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const range = timeRange(q.from, q.to, now(), {
        defaultSpanMs: API_LIMITS.metricsDefaultSpanMs,
        maxSpanMs: API_LIMITS.metricsMaxSpanMs,
      });
      const step = chooseStep(range.to - range.from, q.step, API_LIMITS.maxPointsPerSeries);
      const series = await metricSeries(deps.client, {
        node: req.params.node,
        container: q.container,
        metric: q.metric,
        ...range,
        stepS: step,
        maxRows: API_LIMITS.maxSeriesRows,
      });
      return {
        node: req.params.node,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        step,
        source: seriesSource(step),
        series,
      };
    },
  );

  app.get<{ Params: NodeParamsT; Querystring: LogsQueryT }>(
    '/api/v1/nodes/:node/logs',
    {
      config: viewer,
      schema: {
        summary: 'Log events, newest first, bounded by time range and limit',
        params: NodeParams,
        querystring: LogsQuery,
        response: { 200: LogsResponse, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const range = timeRange(q.from, q.to, now(), {
        defaultSpanMs: API_LIMITS.logsDefaultSpanMs,
        maxSpanMs: API_LIMITS.logsMaxSpanMs,
      });
      const res = await searchLogs(deps.client, {
        node: req.params.node,
        container: q.container,
        level: q.level,
        q: q.q,
        ...range,
        limit: q.limit ?? 100,
      });
      return {
        node: req.params.node,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        ...res,
      };
    },
  );

  app.get<{ Params: NodeParamsT; Querystring: TemplatesQueryT }>(
    '/api/v1/nodes/:node/templates',
    {
      config: viewer,
      schema: {
        summary: 'Log templates with counts over the range, most frequent first',
        params: NodeParams,
        querystring: TemplatesQuery,
        response: { 200: TemplatesResponse, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const range = timeRange(q.from, q.to, now(), {
        defaultSpanMs: API_LIMITS.logsDefaultSpanMs * 4,
        maxSpanMs: API_LIMITS.logsMaxSpanMs,
      });
      const templates = await topTemplates(deps.client, {
        node: req.params.node,
        container: q.container,
        ...range,
        limit: q.limit ?? 100,
      });
      return {
        node: req.params.node,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        templates,
      };
    },
  );

  app.get<{ Querystring: FleetQueryT }>(
    '/api/v1/fleet',
    {
      config: viewer,
      schema: {
        summary: 'Fleet overview: nodes online/offline, uplink bytes against the raw equivalent, drops',
        querystring: FleetQuery,
        response: { 200: FleetResponse, ...errors },
      },
    },
    async (req) => {
      const range = timeRange(req.query.from, req.query.to, now(), {
        defaultSpanMs: 86_400_000,
        maxSpanMs: API_LIMITS.metricsMaxSpanMs,
      });
      return fleetOverview(deps.client, { ...range, now: now(), onlineWindowS: deps.onlineWindowS });
    },
  );
}
