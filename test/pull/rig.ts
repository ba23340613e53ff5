/**
 * A log-pull rig with real parts: the suite's broker + ingester stack (test/support/stack.ts), the
 * TCP fault proxy between the collector and the broker (the node's link), and a real collector
 * (buildCollector) whose full-log store was filled beforehand. Used by the tests and the bench.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  buildCollector,
  collectorConfigSpec,
  createPrng,
  formatPulledLine,
  LogStore,
  logStoreOptions,
  Redactor,
  type RunningCollector,
  type StoredLogRecord,
} from '@edge-telemetry/collector';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Ingester, IngesterDeps } from '@edge-telemetry/ingester';
import { resolveConfig, type LogLevelValue } from '@edge-telemetry/protocol';
import type { Mosquitto } from '../support/mosquitto.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../support/stack.js';
import type { Engine } from '../support/engines.js';

export { ADMIN_TOKEN };

export const T0 = Date.UTC(2026, 10, 27, 8);

export interface RigOptions {
  node: string;
  /** Records put into the node's store before the collector starts. */
  records: Iterable<StoredLogRecord>;
  /** Collector `pull` options (chunkBytes, allowance, ...). */
  pull?: Record<string, unknown>;
  ingesterPull?: IngesterDeps['pull'];
  /** Which ClickHouse the ingester writes to (default embedded). */
  engine?: Engine;
  /** The ingester on a shared subscription group (for more ingesters: addIngester). */
  sharedGroup?: string;
}

export interface PullRig {
  api: string;
  /** fetch on the API with the admin bearer token (or `token`). */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  broker: Mosquitto;
  proxy: FaultProxy;
  ingester: Ingester;
  clickhouse: ClickHouseClient;
  /** Another ingester on the same broker and engine (stack.ts), with the first one's options and these. */
  addIngester: Stack['addIngester'];
  collector: RunningCollector | undefined;
  startCollector(): Promise<RunningCollector>;
  stopCollector(): Promise<void>;
  /** The lines a pull with these bounds must yield, read from the node's store as the node formats them (redacted). */
  expectedLines(filter: {
    since: number;
    until: number;
    container?: string;
    level?: LogLevelValue;
    grep?: string;
  }): Promise<string[]>;
  close(): Promise<void>;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function startPullRig(o: RigOptions): Promise<PullRig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-pull-'));
  const dataDir = path.join(dir, 'collector');
  const store = await LogStore.open(logStoreOptions({ dir: path.join(dataDir, 'logs'), maxBytes: 1024 * 1024 * 1024 }));
  for (const r of o.records) {
    while (!store.append(r)) await store.flush();
  }
  await store.close();

  const stack: Stack = await startStack({
    ingester: {
      mqtt: { clientId: 'pull-ingester', protocolVersion: 5, ...(o.sharedGroup ? { sharedGroup: o.sharedGroup } : {}) },
      auth: { rateLimitPerSecond: 10_000, rateLimitBurst: 10_000 },
    },
    pull: o.ingesterPull,
    engine: o.engine,
  });
  const { broker } = stack;
  const proxy = await startFaultProxy({ port: broker.port });
  const config = resolveConfig(collectorConfigSpec, {
    file: {
      node: o.node,
      dataDir,
      http: { port: -1 },
      sources: { host: { enabled: false }, cgroup: { enabled: false } },
      store: { maxBytes: 1024 * 1024 * 1024 },
      uplink: {
        mqtt: {
          url: proxy.url,
          protocolVersion: 5,
          reconnectMinMs: 100,
          reconnectMaxMs: 400,
          connectTimeoutMs: 2000,
          keepaliveSec: 5,
        },
      },
      pull: o.pull ?? {},
    },
    env: {},
  });
  const redactor = new Redactor(config.logs.redact);

  const rig: PullRig = {
    api: stack.api,
    call: stack.call,
    broker,
    proxy,
    ingester: stack.ingester,
    clickhouse: stack.clickhouse,
    addIngester: stack.addIngester,
    collector: undefined,
    async startCollector() {
      rig.collector = await buildCollector(config, silent);
      return rig.collector;
    },
    async stopCollector() {
      await rig.collector?.stop();
      rig.collector = undefined;
    },
    async expectedLines(f) {
      const s = rig.collector?.store;
      if (!s) throw new Error('collector not running');
      const out: string[] = [];
      for await (const r of s.query(f)) out.push(formatPulledLine(r, redactor.redact(r.line, {})));
      return out;
    },
    async close() {
      await rig.stopCollector();
      await proxy.close();
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await rig.startCollector();
  // A pull is refused for a node the ingester never heard of: wait for this one's birth message.
  await waitFor(`${o.node}'s status at the ingester`, () => stack.ingester.stats().consumer.statuses > 0);
  return rig;
}

const WORDS = [
  'GET',
  'POST',
  '/api/v1/orders',
  '/healthz',
  'user',
  'cache',
  'miss',
  'hit',
  'db',
  'timeout',
  'retry',
  'shard',
  'queue',
  'flush',
  'session',
];

/** Seeded records over `spanMs` from T0, some with secrets for the redaction to find. */
export function* syntheticRecords(n: number, spanMs: number, seed = 7): Generator<StoredLogRecord> {
  const rnd = createPrng(seed);
  const containers = ['api', 'worker', 'db'];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 4 + Math.floor(rnd() * 8) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(
      ' ',
    );
    const secret = i % 50 === 0 ? ` contact=ops${i}@example.com` : '';
    const level = (rnd() < 0.1 ? 4 : rnd() < 0.2 ? 3 : 2) as LogLevelValue;
    yield {
      ts: T0 + Math.floor((i * spanMs) / n),
      container: containers[i % 3] as string,
      stream: level >= 3 ? 'stderr' : 'stdout',
      level,
      line: `${words} id=${Math.floor(rnd() * 1e9)} took=${Math.floor(rnd() * 500)}ms${secret}`,
    };
  }
}
