/**
 * The one way the ingester reaches ClickHouse: @clickhouse/client, over HTTP to a server when a
 * URL is configured, otherwise over the embedded engine (chdb) plugged in as its connection.
 * chdb allows one engine per process, so callers create this once and share it.
 *
 * What differs between the two, found by running the ingester over ClickHouse's HTTP interface
 * (test/clickhouse-http, on the test server in test-support/clickhouse-http), and how it is met
 * here so that everything above sees one behaviour:
 * - Settings: none are set for one engine only. Inserts carry theirs in their SETTINGS clause
 *   (insert.ts), because the embedded connection applies per-query settings as session SETs.
 * - A dropped connection: a write is retried by its caller under the same deduplication token
 *   (the writer; ClickHouse drops the copy when the first one had landed). A read that lost its
 *   connection before any answer (a server restart, a keep-alive socket the server or a proxy
 *   closed) is sent once more here: reads change nothing, and the API would otherwise answer 500
 *   for a blip. Timeouts are not retried: the query may still be running.
 * - Errors: both reach callers as the client's ClickHouseError with `code` and `type` (chdb
 *   parses its own messages the same way), so storage-errors.ts classifies them alike.
 * - Logging: the HTTP client prints every failed request itself, as multi-line text on stderr,
 *   which would break the ingester's JSON log; its callers already report each failure there.
 */
import { createRequire } from 'node:module';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import { engineHolder } from './engine-lock.js';

/** The client's pluggable connection contract (the one chdb implements). */
export type StorageConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface ClickHouseClientOptions {
  /** Server URL; unset = embedded chdb. */
  url?: string;
  /** Embedded engine's data directory (ignored with a URL). */
  dataDir: string;
  /** Wraps the connection (tests inject outages here; everything above it stays real). */
  wrapConnection?: (inner: StorageConnection) => StorageConnection;
}

/** Node's codes for a connection that went away before the answer came. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE']);

/** True when a request failed because its connection was closed under it, not because of what it asked. */
export function isConnectionLost(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return (typeof code === 'string' && CONNECTION_LOST.has(code)) || /socket hang up/i.test((err as Error)?.message);
}

/** `query` (reads only: the ingester writes through exec, insert and command) sent again once after a lost connection. */
function retryReadsOnce(client: ClickHouseClient): ClickHouseClient {
  const query = client.query.bind(client);
  client.query = (async (params: Parameters<typeof query>[0]) => {
    try {
      return await query(params);
    } catch (err) {
      if (!isConnectionLost(err)) throw err;
      return query(params);
    }
  }) as typeof client.query;
  return client;
}

export function createClickHouseClient(opts: ClickHouseClientOptions): ClickHouseClient {
  if (opts.url) {
    return retryReadsOnce(
      createClient({
        url: opts.url,
        request_timeout: 60_000,
        log: { level: ClickHouseLogLevel.OFF },
      }),
    );
  }
  const locked = (holder: number) =>
    new IngesterError(
      'ET_ERR_DATA_DIR_LOCKED',
      `${opts.dataDir} is in use by pid ${holder} (another ingester or \`edge-telemetry start\`); fix: stop that process, or set clickhouse.dataDir (EDGE_TELEMETRY_INGESTER_CLICKHOUSE_DATA_DIR; --data-dir for start) to another directory`,
    );
  // Asked first: the engine refusing a held directory prints its own raw error line on stderr.
  const holder = engineHolder(opts.dataDir, false);
  if (holder !== undefined) throw locked(holder);
  // chdb declares the contract from @clickhouse/client-common while the client bundles its own copy
  // of the same declarations (settings lists differ by version); the runtime contract is one.
  // Loaded only here: the production image has no chdb (CLICKHOUSE_URL points at a server), and
  // chdb costs ~190 MB of RSS on import.
  const { createChdbConnection } = createRequire(import.meta.url)(
    'chdb/connection',
  ) as typeof import('chdb/connection');
  let inner: StorageConnection;
  try {
    inner = createChdbConnection({ path: opts.dataDir }) as unknown as StorageConnection;
  } catch (err) {
    const after = engineHolder(opts.dataDir, true);
    if (after === undefined) throw err;
    throw locked(after);
  }
  return createClient({ connection: opts.wrapConnection ? opts.wrapConnection(inner) : inner });
}
