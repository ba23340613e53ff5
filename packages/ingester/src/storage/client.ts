/**
 * The one way the ingester reaches ClickHouse: @clickhouse/client, over HTTP to a server when a
 * URL is configured, otherwise over the embedded engine (chdb) plugged in as its connection.
 * chdb allows one engine per process, so callers create this once and share it.
 */
import { createRequire } from 'node:module';
import { createClient, type ClickHouseClient } from '@clickhouse/client';

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

export function createClickHouseClient(opts: ClickHouseClientOptions): ClickHouseClient {
  if (opts.url) {
    return createClient({
      url: opts.url,
      request_timeout: 60_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }
  // chdb declares the contract from @clickhouse/client-common while the client bundles its own copy
  // of the same declarations (settings lists differ by version); the runtime contract is one.
  // Loaded only here: the production image has no chdb (CLICKHOUSE_URL points at a server), and
  // chdb costs ~190 MB of RSS on import.
  const { createChdbConnection } = createRequire(import.meta.url)(
    'chdb/connection',
  ) as typeof import('chdb/connection');
  const inner = createChdbConnection({ path: opts.dataDir }) as unknown as StorageConnection;
  return createClient({ connection: opts.wrapConnection ? opts.wrapConnection(inner) : inner });
}
