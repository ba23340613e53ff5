/**
 * An ingester's HTTP app on ClickHouse (embedded, or over HTTP: engines.ts), migrated, without a broker: requests go through
 * fastify's inject (the whole hook, validation and handler chain; no socket). The ingester is
 * never started, so nothing is published; the routes that would publish are refused earlier.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  COLUMNS,
  createClickHouseClient,
  createIngester,
  migrate,
  resolveConfig,
  TABLES,
  type Ingester,
} from '@edge-telemetry/ingester';
import { openEngine, type Engine } from './engines.js';

export const ADMIN_TOKEN = 'et_test-admin-token-0123456789abcdefghijklmnopqrstuv';

export interface Rig {
  client: ClickHouseClient;
  ingester(auth?: Record<string, unknown>): Promise<Ingester>;
  /**
   * Makes `node` one the ingesters have heard of (a stored status row, as a birth message leaves),
   * so a log pull for it is accepted; with no broker, its `pull` command is never sent.
   */
  heardOf(node: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(prefix: string, engineName: Engine = 'embedded'): Promise<Rig> {
  // On tmpfs where there is one: the embedded engine's inserts (audit rows) take half the time.
  const dir = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), prefix));
  const engine = await openEngine(engineName, dir);
  const client = createClickHouseClient(engine.clickhouse);
  const made: Ingester[] = [];
  let migrated = false;
  return {
    client,
    async ingester(auth = {}) {
      const config = resolveConfig(
        {
          mqtt: { url: 'mqtt://127.0.0.1:1' },
          clickhouse: engine.clickhouse,
          http: { port: 0 },
          logLevel: 'silent',
          auth: { adminToken: ADMIN_TOKEN, ...auth },
        },
        {},
      );
      if (!migrated) await migrate(client, { retention: config.retention });
      migrated = true;
      const ing = createIngester(config, { clickhouse: client });
      made.push(ing);
      await ing.app.ready();
      return ing;
    },
    async heardOf(node) {
      const t = Date.now();
      await client.insert({
        table: TABLES.status,
        columns: [...COLUMNS.status],
        values: [[node, 'online', t, t, 'api-rig', '']],
        format: 'JSONCompactEachRow',
        // The embedded engine keeps per-query settings for the session: an insert sets its own (empty) token.
        clickhouse_settings: { insert_deduplication_token: '' },
      });
    },
    async close() {
      for (const i of made) await i.app.close();
      await client.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};
