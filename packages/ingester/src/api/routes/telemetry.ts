/**
 * Reading fleet telemetry (viewer role): nodes, metric series, log events, templates and the
 * fleet overview. Every query is bounded by node, time range and a row limit (queries.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
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
import {
  fleetOverview,
  listNodes,
  metricSeries,
  searchLogs,
  seriesSource,
  spanSeries,
  topTemplates,
} from '../queries.js';
import { chooseStep, timeRange } from '../time-range.js';
import type { NodeQuotas } from '../../quotas/node-quotas.js';

export interface TelemetryRouteDeps {
  client: ClickHouseClient;
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

export async function telemetryRoutes(app: FastifyInstance, deps: TelemetryRouteDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.get(
    '/api/v1/nodes',
    {
      config: viewer,
      schema: {
        summary: 'Nodes with last contact, status, containers and uplink bytes (24 h)',
        response: { 200: NodesResponse, ...errors },
      },
    },
    async () => {
      const rows = await listNodes(deps.client, now(), deps.onlineWindowS);
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
      const series = await metricSeries(deps.client, {
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
      const spans = await spanSeries(deps.client, {
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
      const fleet = await fleetOverview(deps.client, { ...range, now: now(), onlineWindowS: deps.onlineWindowS });
      return { ...fleet, quotaDrops: deps.quotas?.drops(FLEET_QUOTA_ROWS) ?? [] };
    },
  );
}
