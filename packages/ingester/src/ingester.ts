/**
 * Wires one ingester, each part built after what it needs: logger, ClickHouse client, writer,
 * caches, the broker connection (its handler is given at start), auth, the log-pull coordinator,
 * the router, the HTTP API. Several instances may share one ClickHouse client (the embedded
 * engine allows one per process).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import type { IngesterConfig } from './config/options.js';
import { buildApi } from './api/app.js';
import { createConnectionGate, guardServer } from '@edge-telemetry/protocol/net';
import { hidePassword } from '@edge-telemetry/protocol';
import { createClickHouseClient, type StorageConnection } from './storage/client.js';
import { shareEngine, type ReadFigures } from './storage/read-scheduler.js';
import type { LogSearchCounters } from './api/log-search.js';
import { migrate } from './storage/migrate.js';
import { createWriter, type WriterState } from './writer/writer.js';
import { createRouter, type RouterCounters } from './consumer/router.js';
import { createReferenceStore, type ReferenceStats } from './references/store.js';
import { followReferences, type ReferenceFollower } from './references/follow.js';
import {
  createTemplateTextResolver,
  UNRESOLVED_TEXT_CHARGE_BYTES,
  type TemplateTextStats,
} from './template-texts/resolver.js';
import { createMqttConsumer } from './consumer/mqtt-consumer.js';
import { nodeClockBounds } from './consumer/node-clock.js';
import { createPullCoordinator, type PullCounters } from './pull/coordinator.js';
import { pullCoordinatorOptions, type PullCoordinatorOptionsT } from './pull/options.js';
import { createApiAuth, type ApiAuth } from './auth/api-auth.js';
import { createDeadLetterSink } from './writer/dead-letters.js';
import { createNodeQuotas, type NodeQuotas } from './quotas/node-quotas.js';
import { createNodeRegistry } from './nodes/registry.js';
import { createConfigDocuments } from './fleet/documents.js';
import { createRolloutStore } from './fleet/rollout-store.js';
import { createFleetConfig, type FleetRolloutOptions } from './fleet/service.js';
import { monitorLoop, type LoopMonitor } from './loop-delay.js';

/** At stop, how long the messages already admitted may take to reach the writer (its close then has 10 s). */
const LANE_DRAIN_MS = 5_000;

export interface IngesterDeps {
  /** A shared client; without one the ingester opens (and later closes) its own from config.clickhouse. */
  clickhouse?: ClickHouseClient;
  logger?: FastifyBaseLogger;
  /** Only with an own client: wraps its connection (fault injection in tests). */
  wrapConnection?: (inner: StorageConnection) => StorageConnection;
  /** Log-pull coordinator options (defaults in pull/options.ts). */
  pull?: Partial<PullCoordinatorOptionsT>;
  /** Fleet rollout defaults, health rules, step and lease (defaults FLEET_ROLLOUT_OPTIONS in fleet/service.ts). */
  fleetRollout?: FleetRolloutOptions;
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
    quotas: Pick<NodeQuotas, 'drops' | 'totals'>;
    reads: ReadFigures;
    searches: LogSearchCounters;
  };
}

export function createIngester(config: IngesterConfig, deps: IngesterDeps = {}): Ingester {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const ownClient = !deps.clickhouse;
  const engine = shareEngine(
    deps.clickhouse ??
      createClickHouseClient({
        url: config.clickhouse.url,
        dataDir: config.clickhouse.dataDir,
        wrapConnection: deps.wrapConnection,
      }),
    config.reads,
  );
  // Everything but the API's reads: its statements go before theirs.
  const client = engine.client;
  const searches: LogSearchCounters = { partial: 0 };
  const writer = createWriter({ client, options: config.writer, logger });
  const quotas = createNodeQuotas(config.quotas);
  const deadLetters = createDeadLetterSink({ client, logger, allowance: quotas.admitDeadLetter });
  const nodes = createNodeRegistry({ client, logger });
  const references = createReferenceStore({ client, cacheBytes: config.referenceCacheMiB * 1024 * 1024 });
  const templateTexts = createTemplateTextResolver({
    client,
    cacheBytes: config.templateTextCacheMiB * 1024 * 1024,
    logger,
    // Lookups for texts a node never sent are its to pay for, as its decoding is.
    onUnresolved: (node, rows) => quotas.charge(node, rows * UNRESOLVED_TEXT_CHARGE_BYTES),
  });
  const consumer = createMqttConsumer(config.mqtt, { logger });
  const auth = createApiAuth({ client, options: config.auth });
  const pulls = createPullCoordinator({
    client,
    logger,
    audit: auth.audit,
    ingesterId: config.mqtt.clientId,
    nodes,
    options: pullCoordinatorOptions(deps.pull),
    publish: consumer.publish,
  });
  const fleet = createFleetConfig({
    client,
    documents: createConfigDocuments({ client }),
    rollouts: createRolloutStore(client),
    ingesterId: config.mqtt.clientId,
    ...(deps.fleetRollout ? { rolloutOptions: deps.fleetRollout } : {}),
    logger,
    audit: auth.audit,
    publish: consumer.publish,
  });
  const router = createRouter({
    writer,
    deadLetters,
    quotas,
    // Statuses also say each node's configuration state (and bring a node back to its latest revision).
    nodes: {
      ...nodes,
      noted: (status, receivedAt) => {
        nodes.noted(status, receivedAt);
        fleet.noted(status, receivedAt);
      },
    },
    logger,
    ingesterId: config.mqtt.clientId,
    publish: consumer.publish,
    onPull: pulls.handle,
    references,
    templateTexts,
    nodeClock: nodeClockBounds(config.retention),
  });
  const figures = () => ({
    writer: writer.state(),
    consumer: router.counters(),
    handling: router.handling(),
    brokerConnected: consumer.connected(),
    references: references.stats(),
    templateTexts: templateTexts.stats(),
    quotas,
    pulls: pulls.counters(),
    connectionsRefused: connections.refused(),
    reads: { ...engine.reads.counters, ...engine.reads.state() },
    searches: { ...searches },
    ...(loop ? { loop: loop.figures() } : {}),
  });
  const app = buildApi({
    client,
    reads: engine.reads,
    searches,
    readOptions: config.reads,
    logger,
    auth,
    pulls,
    fleet,
    quotas,
    writerState: writer.state,
    brokerConnected: consumer.connected,
    figures,
    onlineWindowS: config.onlineWindowS,
  });
  let refusalSaidAt = -Infinity;
  const connections = createConnectionGate(config.http, (why, address) => {
    // A client at the cap opens connection after connection: say it once a minute, count them all.
    if (Date.now() - refusalSaidAt < 60_000) return;
    refusalSaidAt = Date.now();
    logger.warn(
      { why, address, refused: connections.refused() },
      `API connection refused: ${why === 'total' ? 'http.maxConnections' : 'http.maxConnectionsPerAddress'} reached`,
    );
  });
  guardServer(app.server, connections);
  let stopped = false;
  let following: ReferenceFollower | undefined;
  /** From start to stop: the event loop's busy time and delay in /metrics. */
  let loop: LoopMonitor | undefined;

  return {
    app,
    auth,
    async start() {
      const m = await migrate(client, { retention: config.retention, cluster: config.clickhouse.cluster });
      if (m.applied.length > 0 || m.retentionChanged.length > 0) logger.info(m, 'schema migrated');
      loop = monitorLoop();
      const url = await app.listen({ host: config.http.host, port: config.http.port });
      await consumer.start(router.handle);
      fleet.start();
      // A lone ingester stores every keyframe it will need itself.
      if (config.mqtt.sharedGroup !== undefined && config.referenceFollowMs > 0)
        following = followReferences({
          store: references,
          texts: templateTexts,
          intervalMs: config.referenceFollowMs,
          cacheMiB: config.referenceCacheMiB,
          logger,
        });
      logger.info(
        // Compose's CLICKHOUSE_URL holds the ClickHouse password: it was in this line at every start.
        {
          url,
          broker: hidePassword(config.mqtt.url),
          clickhouse: config.clickhouse.url
            ? hidePassword(config.clickhouse.url)
            : `embedded:${config.clickhouse.dataDir}`,
        },
        'ingester started',
      );
      return { url };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      following?.close();
      loop?.close();
      // First, so that the ingesters that go on take this one's pulls over during the drain.
      const handedOver = pulls.handOver();
      fleet.close();
      // No more messages first (left unacknowledged, the broker delivers them again), then what
      // the lanes admitted goes to the writer; bounded, since a writer without room
      // (ClickHouse away) would hold it: at close the writer refuses the rest unacknowledged, and
      // the nodes send it again.
      consumer.pause();
      await Promise.race([router.drain(), new Promise((r) => setTimeout(r, LANE_DRAIN_MS).unref())]);
      // Flush before disconnecting so the acks of what was stored still go out (a keyframe's ack also waits for its body).
      await writer.close();
      await references.drain();
      await Promise.all([deadLetters.drain(), nodes.drain(), fleet.drain(), handedOver]);
      await consumer.stop();
      await app.close();
      if (ownClient) await client.close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      following?.close();
      loop?.close();
      pulls.close();
      fleet.close();
      consumer.kill();
      writer.abort();
      await app.close();
      if (ownClient) await client.close();
    },
    stats: figures,
  };
}
