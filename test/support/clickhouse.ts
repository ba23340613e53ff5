/**
 * Embedded ClickHouse for tests: one migrated engine per test file in a fresh directory, and
 * wrappers around its real connection (createClickHouseClient's wrapConnection) that count, fail,
 * stall or refuse chosen statements; every call let through reaches the real engine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient, migrate, resolveConfig, type StorageConnection } from '@edge-telemetry/ingester';

export interface EmbeddedClickHouse {
  client: ClickHouseClient;
  close(): Promise<void>;
}

/** `close` releases the engine and the directory. */
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
      // A statement still running when the test ends (a coordinator's scan or heartbeat started by a
      // timer before its close) may write a part while the folder goes: rm retries on ENOTEMPTY.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** Fail or stall every statement (or those matching) on command, as a dead or hung server would. */
export type FaultMode = 'ok' | 'fail' | 'stall';

export interface FaultSwitch {
  mode: FaultMode;
  /** Only statements matching this are affected (all when unset). */
  match?: RegExp;
  /** Calls refused or held while not 'ok'. */
  refused: number;
  /** Calls made through the switch that have not settled yet (held ones included). */
  inFlight: number;
  set(mode: FaultMode, match?: RegExp): void;
  wrap(inner: StorageConnection): StorageConnection;
}

export function faultSwitch(): FaultSwitch {
  const stalled: (() => void)[] = [];
  const sw: FaultSwitch = {
    mode: 'ok',
    refused: 0,
    inFlight: 0,
    set(mode, match) {
      sw.mode = mode;
      sw.match = match;
      if (mode !== 'stall') for (const release of stalled.splice(0)) release();
    },
    wrap(inner) {
      const gate = async (query: string): Promise<void> => {
        while (sw.mode !== 'ok' && (!sw.match || sw.match.test(query))) {
          sw.refused++;
          if (sw.mode === 'fail') throw new Error('injected: connection refused');
          await new Promise<void>((r) => stalled.push(r));
        }
      };
      // Counted until the inner call settles: a test can wait for a released call to land.
      const through = async <T>(query: string, call: () => Promise<T>): Promise<T> => {
        sw.inFlight++;
        try {
          await gate(query);
          return await call();
        } finally {
          sw.inFlight--;
        }
      };
      return {
        ping: (p) => through('', () => inner.ping(p)),
        query: (p) => through(p.query, () => inner.query(p)),
        insert: (p) => through(p.query, () => inner.insert(p)),
        command: (p) => through(p.query, () => inner.command(p)),
        exec: (p) => through(p.query, () => inner.exec(p)),
        close: () => inner.close(),
      };
    },
  };
  return sw;
}

/**
 * `inner` with some methods replaced. Each other method is forwarded by name: the engine's own
 * connection is a class, whose methods a spread would drop.
 */
function forwarding(inner: StorageConnection, over: Partial<StorageConnection>): StorageConnection {
  return {
    ping: (p) => inner.ping(p),
    query: (p) => inner.query(p),
    command: (p) => inner.command(p),
    close: () => inner.close(),
    insert: (p) => inner.insert(p),
    exec: (p) => inner.exec(p),
    ...over,
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
    wrap: (inner) =>
      forwarding(inner, { insert: counted((p) => inner.insert(p)), exec: counted((p) => inner.exec(p)) }),
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}

/**
 * When each insert sent with exec began and ended (`start <table>`, `end <table>`), in order; with
 * `reads`, each query too (`read`, when it began).
 */
export function insertTimeline(o: { reads?: boolean } = {}): {
  wrap(inner: StorageConnection): StorageConnection;
  readonly events: string[];
} {
  const events: string[] = [];
  return {
    events,
    wrap: (inner) =>
      forwarding(inner, {
        ...(o.reads ? { query: (p) => (events.push('read'), inner.query(p)) } : {}),
        exec: async (p) => {
          const table = /^INSERT INTO (\w+)/.exec(p.query)?.[1];
          if (table) events.push(`start ${table}`);
          try {
            return await inner.exec(p);
          } finally {
            if (table) events.push(`end ${table}`);
          }
        },
      }),
  };
}

/**
 * Refuses any insert whose rows contain `marker` the way ClickHouse refuses a row it cannot parse
 * (the error the client makes of the server's answer).
 */
export function refuseRowsContaining(marker: string) {
  return (inner: StorageConnection): StorageConnection => ({
    ping: (p) => inner.ping(p),
    query: (p) => inner.query(p),
    insert: (p) => inner.insert(p),
    command: (p) => inner.command(p),
    close: () => inner.close(),
    exec: async (p) => {
      if (!p.values) return inner.exec(p);
      let body = '';
      for await (const chunk of p.values) body += String(chunk);
      if (body.includes(marker)) {
        throw Object.assign(new Error("Cannot parse input: expected '\"' before: 'x': (at row 1)"), {
          code: '27',
          type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
        });
      }
      return inner.exec({ ...p, values: Readable.from([body], { objectMode: false, encoding: 'utf8' }) });
    },
  });
}
