/**
 * The probes and the ingester's own figures: /healthz (alive), /readyz (ClickHouse answers, the
 * broker is connected, the writer takes batches) and /metrics (Prometheus text). Public by path
 * (auth/access.ts): orchestrators and Prometheus call them without a token. So they say nothing of
 * the fleet and cost no query per call: /readyz reuses its ClickHouse probe for a few seconds and
 * leaves ClickHouse's error text out (it is in the log).
 */
import { Type } from '@sinclair/typebox';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { prometheusText, type IngesterFigures } from '../prometheus.js';
import type { WriterState } from '../../writer/writer.js';
import { Healthz, Readyz } from '../schemas.js';

export interface ProbeRouteDeps {
  client: ClickHouseClient;
  writerState: () => WriterState;
  brokerConnected: () => boolean;
  /** Everything /metrics shows. */
  figures: () => IngesterFigures;
}

const READY_PROBE_TIMEOUT_MS = 2000;
/**
 * The ClickHouse probe's answer is reused this long: /readyz is public, and a probe per call would
 * let anyone turn requests into engine queries. Orchestrators probe every few seconds anyway.
 */
const READY_PROBE_TTL_MS = 5000;

/** `SELECT 1` within the timeout, at most once per TTL whoever asks (concurrent callers share it). */
function clickhouseProbe(client: ClickHouseClient, now: () => number = Date.now): () => Promise<boolean> {
  let last: { at: number; up: Promise<boolean> } | undefined;
  return () => {
    if (last && now() - last.at < READY_PROBE_TTL_MS) return last.up;
    let timer: NodeJS.Timeout | undefined;
    // A stalled engine must not stall the probe: no answer within the timeout counts as down.
    const up = Promise.race([
      client
        .query({ query: 'SELECT 1', format: 'JSONEachRow' })
        .then((r) => r.json())
        .then(() => true)
        .catch(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), READY_PROBE_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    last = { at: now(), up };
    return up;
  };
}

export async function probeRoutes(app: FastifyInstance, deps: ProbeRouteDeps): Promise<void> {
  // On the writer's client (tracked, storage/read-scheduler.ts), not the reads': an API read whose
  // turn comes while the probe is in flight waits for it, so the probe is not queued behind a read
  // of up to reads.statementMs and /readyz down for it. The price, a read backing off once for a
  // probe it delayed, is at most once per READY_PROBE_TTL_MS.
  const clickhouseUp = clickhouseProbe(deps.client);
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
      const clickhouse = await clickhouseUp();
      const w = deps.writerState();
      const broker = deps.brokerConnected();
      const ready = clickhouse && broker && !w.backpressured;
      const writer = {
        backpressured: w.backpressured,
        failing: w.failing,
        queuedBatches: w.queuedBatches,
        queuedRows: w.queuedRows,
        queuedBytes: w.queuedBytes,
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
    async (_req, reply) => reply.type('text/plain; version=0.0.4').send(prometheusText(deps.figures())),
  );
}
