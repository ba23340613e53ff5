/**
 * Reading fleet telemetry (viewer role): nodes, metric series, log events, templates and the
 * fleet overview. Every query is bounded by node, time range and a row limit (queries.ts), and
 * every statement by time and bytes, in its token's turn with the writer first
 * (storage/read-scheduler.ts); a log search runs in slices (log-search.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FleetQuery,
  FleetResponse,
  TemplatesQuery,
  TemplatesResponse,
  type FleetQueryT,
  type TemplatesQueryT,
  LogsQuery,
  LogsResponse,
  MetricsQuery,
  MetricsResponse,
  NodeParams,
  NodesResponse,
  ROUTE_ERRORS,
  SpansQuery,
  SpansResponse,
  type SpansQueryT,
  type LogsQueryT,
  type MetricsQueryT,
  type NodeParamsT,
} from '../schemas.js';
import { fleetOverview, listNodes, metricSeries, seriesSource, spanSeries, topTemplates } from '../queries.js';
import { searchLogs, type LogSearchCounters } from '../log-search.js';
import { chooseStep, timeRange } from '../time-range.js';
import type { NodeQuotas } from '../../quotas/node-quotas.js';
import { boundedReads, type Reads } from '../../storage/bounded-reads.js';
import type { ReadScheduler } from '../../storage/read-scheduler.js';
import type { ReadOptionsT } from '../../storage/read-options.js';

export interface TelemetryRouteDeps {
  reads: ReadScheduler;
  searches: LogSearchCounters;
  readOptions: ReadOptionsT;
  onlineWindowS: number;
  /** What this ingester dropped per node for the quotas, shown with the nodes and the fleet. */
  quotas?: Pick<NodeQuotas, 'drops'>;
  now?: () => number;
}

/** Nodes with quota drops listed in the fleet answer. */
const FLEET_QUOTA_ROWS = 100;

export const API_LIMITS = {
  metricsDefaultSpanMs: 3_600_000,
  metricsMaxSpanMs: 31 * 86_400_000,
  maxPointsPerSeries: 1500,
  maxSeriesRows: 100_000,
  logsDefaultSpanMs: 15 * 60_000,
  logsMaxSpanMs: 7 * 86_400_000,
} as const;

/**
 * The range and step of a series read (metrics, spans): the answer's head and the query's bounds.
 * Defaults and limits as for metrics.
 */
function bucketed(node: string, q: { from?: number | string; to?: number | string; step?: number }, now: number) {
  const range = timeRange(q.from, q.to, now, {
    defaultSpanMs: API_LIMITS.metricsDefaultSpanMs,
    maxSpanMs: API_LIMITS.metricsMaxSpanMs,
  });
  const step = chooseStep(range.to - range.from, q.step, API_LIMITS.maxPointsPerSeries);
  return {
    head: { node, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), step },
    bounds: { node, ...range, stepS: step, maxRows: API_LIMITS.maxSeriesRows },
  };
}

/** Reading telemetry: every role (auth/access.ts; undeclared routes need admin). */
const viewer = { role: 'viewer' as const };

const errors = { ...ROUTE_ERRORS, 500: { $ref: 'Error#' } };

/** True once the caller closed its connection before the answer: a search stops reading for nobody. */
function callerGone(reply: FastifyReply): () => boolean {
  let gone = false;
  reply.raw.once('close', () => (gone = !reply.raw.writableFinished));
  return () => gone;
}

export async function telemetryRoutes(app: FastifyInstance, deps: TelemetryRouteDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const o = deps.readOptions;
  /** The request's reads, in its token's turn (every route here needs a token: auth/plugin.ts sets the principal). */
  const readsOf = (req: FastifyRequest): Reads =>
    boundedReads(deps.reads, req.principal?.id ?? `addr:${req.ip}`, { ms: o.statementMs, bytes: o.statementBytes });
  app.get(
    '/api/v1/nodes',
    {
      config: viewer,
      schema: {
        summary: 'Nodes with last contact, status, containers and uplink bytes (24 h)',
        response: { 200: NodesResponse, ...errors },
      },
    },
    async (req) => {
      const rows = await listNodes(readsOf(req), now(), deps.onlineWindowS);
      const drops = new Map((deps.quotas?.drops() ?? []).map(({ node, ...d }) => [node, d]));
      return rows.map((r) => {
        const d = drops.get(r.node);
        return d ? { ...r, quotaDrops: d } : r;
      });
    },
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
      const { head, bounds } = bucketed(req.params.node, q, now());
      const series = await metricSeries(readsOf(req), {
        ...bounds,
        container: q.container,
        metric: q.metric,
        service: q.service,
      });
      return { ...head, source: seriesSource(head.step), series };
    },
  );

  app.get<{ Params: NodeParamsT; Querystring: SpansQueryT }>(
    '/api/v1/nodes/:node/spans',
    {
      config: viewer,
      schema: {
        summary: 'Span summaries per service, operation, kind and status, bucketed by step, with totals over the range',
        params: NodeParams,
        querystring: SpansQuery,
        response: { 200: SpansResponse, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const { head, bounds } = bucketed(req.params.node, q, now());
      const spans = await spanSeries(readsOf(req), {
        ...bounds,
        container: q.container,
        service: q.service,
        operation: q.operation,
      });
      return { ...head, spans };
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
    async (req, reply) => {
      const q = req.query;
      const range = timeRange(q.from, q.to, now(), {
        defaultSpanMs: API_LIMITS.logsDefaultSpanMs,
        maxSpanMs: API_LIMITS.logsMaxSpanMs,
      });
      const { searchedFrom, ...res } = await searchLogs(
        readsOf(req),
        { node: req.params.node, container: q.container, level: q.level, q: q.q, ...range, limit: q.limit ?? 100 },
        o,
        callerGone(reply),
      );
      if (res.partial) deps.searches.partial++;
      return {
        node: req.params.node,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        ...res,
        searchedFrom: new Date(searchedFrom).toISOString(),
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
      const templates = await topTemplates(readsOf(req), {
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
      const fleet = await fleetOverview(readsOf(req), { ...range, now: now(), onlineWindowS: deps.onlineWindowS });
      return { ...fleet, quotaDrops: deps.quotas?.drops(FLEET_QUOTA_ROWS) ?? [] };
    },
  );
}
