/**
 * The suite's one broker + ingester rig: a real Mosquitto on a free loopback port and the ingester
 * in-process on ClickHouse in its own temp dir (the embedded engine, or with `engine: 'http'` the
 * test server over ClickHouse's HTTP interface: engines.ts), started (migrated, API listening,
 * subscribed). Tests that need more parts build on it (test/pull/rig.ts adds a collector behind a
 * fault proxy); tests that need the ingester as a process use startIngesterBin (processes.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  createClickHouseClient,
  createIngester,
  resolveConfig,
  type Ingester,
  type IngesterDeps,
  type StorageConnection,
} from '@edge-telemetry/ingester';
import { openEngine, type Engine } from './engines.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';

/** The API's admin bearer token in every stack (auth.adminToken). */
export const ADMIN_TOKEN = 'stack-admin-token-0123456789abcdefghij';

/** Ingester options by section (mqtt, http, writer, auth, ...), as in its config file. */
export type IngesterOverrides = Record<string, unknown>;

export interface StackOptions {
  /** Over the rig's defaults, merged per section: `{ mqtt: { protocolVersion: 5 } }` keeps the broker URL. */
  ingester?: IngesterOverrides;
  /** Which ClickHouse (default embedded). */
  engine?: Engine;
  /** Wraps the embedded engine's connection (fault injection: test/support/clickhouse.ts). */
  wrapConnection?: (inner: StorageConnection) => StorageConnection;
  /** Log-pull coordinator options. */
  pull?: IngesterDeps['pull'];
}

export interface Stack {
  broker: Mosquitto;
  /** The temp dir (the engine's data is under it), removed by close(). */
  dir: string;
  clickhouse: ClickHouseClient;
  ingester: Ingester;
  /** The API's base URL, http://127.0.0.1:<port>. */
  api: string;
  /** fetch on the API with the admin bearer token (or `token`). */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /**
   * Another ingester on the same broker and engine, started, with the first one's options and
   * `overrides` over them: a second one on a shared subscription, or a restart (stop the first, add
   * one: its caches are empty). Stopped by close().
   */
  addIngester(overrides?: IngesterOverrides): Promise<{ ingester: Ingester; api: string }>;
  /** Stops the ingesters (newest first), the engine and the broker, and removes the dir. */
  close(): Promise<void>;
}

/** `over` on `base`, one level deep: a section given in `over` is merged into the same section of `base`. */
function mergeSections(base: IngesterOverrides, over: IngesterOverrides): IngesterOverrides {
  const out: IngesterOverrides = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const plain = (x: unknown): x is Record<string, unknown> =>
      typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = plain(b) && plain(v) ? { ...b, ...v } : v;
  }
  return out;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const broker = await startMosquitto();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-stack-'));
  const engine = await openEngine(o.engine ?? 'embedded', dir);
  const clickhouse = createClickHouseClient({ ...engine.clickhouse, wrapConnection: o.wrapConnection });
  const ingesters: Ingester[] = [];
  // Fast flushes and retries, so a test sees a batch stored (and acknowledged) within tens of ms.
  const defaults: IngesterOverrides = {
    mqtt: { url: broker.url, clientId: 'stack-ingester' },
    http: { port: 0 },
    clickhouse: engine.clickhouse,
    writer: { flushIntervalMs: 50, retryMinMs: 20, retryMaxMs: 100 },
    auth: { adminToken: ADMIN_TOKEN },
    // A log search answers what it found in reads.searchMs (2 s) with `partial: true`, and halves
    // its slices when one takes over sliceMs (100 ms): a test that reads its rows back expects the
    // whole range, not what a loaded CI machine searched in time. log-search.test.ts sets its own.
    reads: { searchMs: 600_000, sliceMs: 10_000 },
    logLevel: 'silent',
  };
  const first = mergeSections(defaults, o.ingester ?? {});
  const add = async (overrides: IngesterOverrides) => {
    const ingester = createIngester(resolveConfig(mergeSections(first, overrides), {}), {
      clickhouse,
      pull: o.pull,
    });
    ingesters.push(ingester);
    return { ingester, api: (await ingester.start()).url };
  };
  const close = async () => {
    for (const i of ingesters.reverse()) await i.stop();
    await clickhouse.close();
    await engine.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { ingester, api } = await add({});
    return {
      broker,
      dir,
      clickhouse,
      ingester,
      api,
      call: (p, init = {}) => {
        const headers = new Headers(init.headers);
        headers.set('authorization', `Bearer ${init.token ?? ADMIN_TOKEN}`);
        return fetch(api + p, { ...init, headers });
      },
      addIngester: (overrides = {}) => add(overrides),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
