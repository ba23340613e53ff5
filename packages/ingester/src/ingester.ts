/**
 * Wires one ingester: migrations, writer, router, broker consumer and HTTP API. Several
 * instances may share one ClickHouse client (the embedded engine allows one per process).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { IngesterConfig } from './config/options.js';
import { buildApi } from './api/app.js';
import { createClickHouseClient, type StorageConnection } from './storage/client.js';
import { migrate } from './storage/migrate.js';
import { createWriter, type Writer, type WriterState } from './writer/writer.js';
import { createRouter, type RouterCounters } from './consumer/router.js';
import { createMqttConsumer } from './consumer/mqtt-consumer.js';

export interface IngesterDeps {
  /** A shared client; without one the ingester opens (and later closes) its own from config.clickhouse. */
  clickhouse?: ClickHouseClient;
  logger?: FastifyBaseLogger;
  /** Only with an own client: wraps its connection (fault injection in tests). */
  wrapConnection?: (inner: StorageConnection) => StorageConnection;
}

export interface Ingester {
  /** Migrates, listens on HTTP, connects to the broker; resolves with the API's URL. */
  start(): Promise<{ url: string }>;
  /** Orderly: stops taking messages, flushes and acknowledges what is queued, closes. */
  stop(): Promise<void>;
  /** Abrupt, as if the process died: broker connection and timers dropped, nothing flushed. */
  kill(): Promise<void>;
  app: FastifyInstance;
  stats(): { writer: WriterState; consumer: RouterCounters; brokerConnected: boolean };
}

export function createIngester(config: IngesterConfig, deps: IngesterDeps = {}): Ingester {
  const ownClient = !deps.clickhouse;
  const client = deps.clickhouse ?? createClickHouseClient({ url: config.clickhouse.url, dataDir: config.clickhouse.dataDir, wrapConnection: deps.wrapConnection });
  let brokerConnected = () => false;
  let writer: Writer | undefined;
  const writerState = (): WriterState =>
    writer?.state() ?? { queuedBatches: 0, queuedRows: 0, queuedBytes: 0, backpressured: false, failing: false, consecutiveFailures: 0, batchesStored: 0, batchesDuplicate: 0, rowsInserted: 0, inserts: 0, insertFailures: 0 };
  let counters = (): RouterCounters => ({ received: 0, batchesAccepted: 0, batchesStored: 0, batchesDuplicate: 0, statuses: 0, acksPublished: 0, rejected: {} });
  const app = buildApi({ client, writerState, consumerCounters: () => counters(), brokerConnected: () => brokerConnected(), onlineWindowS: config.onlineWindowS, logger: deps.logger, logLevel: config.logLevel });
  const logger = app.log;
  const w = createWriter({ client, options: config.writer, logger });
  writer = w;
  const router = createRouter({ client, writer: w, logger, ingesterId: config.mqtt.clientId, publish: (topic, payload) => consumer.publish(topic, payload) });
  counters = () => router.counters();
  const consumer = createMqttConsumer(config.mqtt, { router, logger });
  brokerConnected = () => consumer.connected();
  let stopped = false;

  return {
    app,
    async start() {
      const m = await migrate(client, { retention: config.retention, cluster: config.clickhouse.cluster });
      if (m.applied.length > 0 || m.retentionChanged.length > 0) logger.info(m, 'schema migrated');
      const url = await app.listen({ host: config.http.host, port: config.http.port });
      await consumer.start();
      logger.info({ url, broker: config.mqtt.url, clickhouse: config.clickhouse.url ?? `embedded:${config.clickhouse.dataDir}` }, 'ingester started');
      return { url };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Flush before disconnecting so the acks of what was stored still go out.
      await w.close();
      await consumer.stop();
      await app.close();
      if (ownClient) await client.close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      consumer.kill();
      w.abort();
      await app.close();
      if (ownClient) await client.close();
    },
    stats: () => ({ writer: w.state(), consumer: router.counters(), brokerConnected: consumer.connected() }),
  };
}
