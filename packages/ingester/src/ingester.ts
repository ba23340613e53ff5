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
import { createWriter, type WriterState } from './writer/writer.js';
import { createRouter, type RouterCounters } from './consumer/router.js';
import { createReferenceStore, type ReferenceStats } from './references/store.js';
import { createTemplateTextResolver, type TemplateTextStats } from './template-texts/resolver.js';
import { createMqttConsumer } from './consumer/mqtt-consumer.js';
import { createPullCoordinator, type PullCounters } from './pull/coordinator.js';
import { pullCoordinatorOptions, type PullCoordinatorOptionsT } from './pull/options.js';
import { logPullRoutes } from './api/routes/log-pulls.js';
import { installApiAuth, type ApiAuth } from './auth/api-auth.js';

export interface IngesterDeps {
  /** A shared client; without one the ingester opens (and later closes) its own from config.clickhouse. */
  clickhouse?: ClickHouseClient;
  logger?: FastifyBaseLogger;
  /** Only with an own client: wraps its connection (fault injection in tests). */
  wrapConnection?: (inner: StorageConnection) => StorageConnection;
  /** Log-pull coordinator options (defaults in pull/options.ts). */
  pull?: Partial<PullCoordinatorOptionsT>;
}

export interface Ingester {
  /** Migrates, listens on HTTP, connects to the broker; resolves with the API's URL. */
  start(): Promise<{ url: string }>;
  /** Orderly: stops taking messages, flushes and acknowledges what is queued, closes. */
  stop(): Promise<void>;
  /** Abrupt, as if the process died: broker connection and timers dropped, nothing flushed. */
  kill(): Promise<void>;
  app: FastifyInstance;
  /** Tokens, audit and the bootstrap admin token (print it when `generated`: nobody else knows it). */
  auth: ApiAuth;
  stats(): {
    writer: WriterState;
    consumer: RouterCounters;
    brokerConnected: boolean;
    pulls: PullCounters;
    references: ReferenceStats;
    templateTexts: TemplateTextStats;
  };
}

export function createIngester(config: IngesterConfig, deps: IngesterDeps = {}): Ingester {
  const ownClient = !deps.clickhouse;
  const client =
    deps.clickhouse ??
    createClickHouseClient({
      url: config.clickhouse.url,
      dataDir: config.clickhouse.dataDir,
      wrapConnection: deps.wrapConnection,
    });
  // The API is built first because its fastify instance owns the logger the other parts use; it
  // reads their state through closures that only run once a request arrives, after construction.
  const app = buildApi({
    client,
    writerState: () => writer.state(),
    consumerCounters: () => router.counters(),
    referenceStats: () => references.stats(),
    templateTextStats: () => templateTexts.stats(),
    brokerConnected: () => consumer.connected(),
    onlineWindowS: config.onlineWindowS,
    logger: deps.logger,
    logLevel: config.logLevel,
  });
  // Before any route plugin loads: every route gets its token check (fail closed).
  const auth = installApiAuth(app, { client, options: config.auth });
  const logger = app.log;
  const writer = createWriter({ client, options: config.writer, logger });
  const pulls = createPullCoordinator({
    client,
    logger,
    audit: auth.audit,
    options: pullCoordinatorOptions(deps.pull),
    publish: (topic, payload) => consumer.publish(topic, payload),
  });
  void app.register(async (api) => logPullRoutes(api, { coordinator: pulls }));
  const references = createReferenceStore({ client, cacheBytes: config.referenceCacheMiB * 1024 * 1024 });
  const templateTexts = createTemplateTextResolver({
    client,
    cacheBytes: config.templateTextCacheMiB * 1024 * 1024,
    logger,
  });
  const router = createRouter({
    client,
    writer,
    logger,
    ingesterId: config.mqtt.clientId,
    publish: (topic, payload) => consumer.publish(topic, payload),
    onPull: (node, pullId, payload) => pulls.handle(node, pullId, payload),
    references,
    templateTexts,
  });
  const consumer = createMqttConsumer(config.mqtt, { router, logger });
  let stopped = false;

  return {
    app,
    auth,
    async start() {
      const m = await migrate(client, { retention: config.retention, cluster: config.clickhouse.cluster });
      if (m.applied.length > 0 || m.retentionChanged.length > 0) logger.info(m, 'schema migrated');
      const url = await app.listen({ host: config.http.host, port: config.http.port });
      await consumer.start();
      logger.info(
        { url, broker: config.mqtt.url, clickhouse: config.clickhouse.url ?? `embedded:${config.clickhouse.dataDir}` },
        'ingester started',
      );
      return { url };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      pulls.close();
      // Flush before disconnecting so the acks of what was stored still go out (a keyframe's ack also waits for its body).
      await writer.close();
      await references.drain();
      await consumer.stop();
      await app.close();
      if (ownClient) await client.close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      pulls.close();
      consumer.kill();
      writer.abort();
      await app.close();
      if (ownClient) await client.close();
    },
    stats: () => ({
      writer: writer.state(),
      consumer: router.counters(),
      brokerConnected: consumer.connected(),
      pulls: pulls.counters(),
      references: references.stats(),
      templateTexts: templateTexts.stats(),
    }),
  };
}
