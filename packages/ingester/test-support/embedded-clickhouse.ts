/**
 * One migrated embedded ClickHouse per test file, in a fresh directory, optionally behind a
 * wrapping connection (faults, refusals, counters); `close` releases the engine and the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { resolveConfig } from '../src/config/load.js';
import { createClickHouseClient, type StorageConnection } from '../src/storage/client.js';
import { migrate } from '../src/storage/migrate.js';

export interface EmbeddedClickHouse {
  client: ClickHouseClient;
  close(): Promise<void>;
}

export async function openMigrated(
  name: string,
  wrapConnection?: (inner: StorageConnection) => StorageConnection,
): Promise<EmbeddedClickHouse> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `et-${name}-`));
  const client = createClickHouseClient({ dataDir: dir, ...(wrapConnection ? { wrapConnection } : {}) });
  await migrate(client, { retention: resolveConfig(undefined, {}).retention });
  return {
    client,
    async close() {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Counts the inserts (client.insert and exec with a body) whose statement names `table`. */
export function insertCounter(table: string): {
  wrap(inner: StorageConnection): StorageConnection;
  readonly count: number;
  reset(): void;
} {
  let count = 0;
  const counted =
    <P extends { query: string }, R>(call: (p: P) => R) =>
    (p: P): R => {
      if (p.query.includes(table)) count++;
      return call(p);
    };
  return {
    // Each method forwarded by name: the engine's own connection is a class, whose methods a spread would drop.
    wrap: (inner) => ({
      ping: (p) => inner.ping(p),
      query: (p) => inner.query(p),
      command: (p) => inner.command(p),
      close: () => inner.close(),
      insert: counted((p) => inner.insert(p)),
      exec: counted((p) => inner.exec(p)),
    }),
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
