/**
 * The probes and the ingester's own figures: /healthz (alive), /readyz (ClickHouse answers, the
 * broker is connected, the writer takes batches) and /metrics (Prometheus text). Public by path
 * (auth/access.ts): orchestrators and Prometheus call them without a token.
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

export async function probeRoutes(app: FastifyInstance, deps: ProbeRouteDeps): Promise<void> {
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
    async (_req, reply) => reply.type('text/plain; version=0.0.4').send(prometheusText(deps.figures())),
  );
}
