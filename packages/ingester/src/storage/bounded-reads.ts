/**
 * The HTTP API's reads: each SELECT carries its bounds in its own SETTINGS clause (the embedded
 * connection would turn the client's clickhouse_settings into session SETs that outlive the query,
 * insert.ts), and runs in its token's turn (read-scheduler.ts). A statement past its bound is
 * stopped by ClickHouse itself (`timeout_overflow_mode` / `read_overflow_mode` = 'throw': a
 * 'break' answer cannot tell what it left out) and reaches the caller as ET_ERR_READ_LIMIT.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import type { ReadScheduler } from './read-scheduler.js';

/** One statement's bounds. */
export interface StatementBounds {
  ms: number;
  bytes: number;
}

/** Rows of one SELECT as JSONCompactEachRow arrays. */
export interface Reads {
  rows<T>(query: string, params?: Record<string, unknown>, bounds?: Partial<StatementBounds>): Promise<T[]>;
}

/** ClickHouse's codes for a statement stopped by max_execution_time, max_rows_to_read, max_bytes_to_read. */
const LIMIT_CODES = new Set(['159', '158', '307']);

function readSettings(b: StatementBounds): string {
  return `SETTINGS max_execution_time = ${b.ms / 1000}, timeout_overflow_mode = 'throw', max_bytes_to_read = ${b.bytes}, read_overflow_mode = 'throw'`;
}

async function select<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' });
  return rs.json<T>();
}

/** Reads under `bounds`, in `token`'s turn. */
export function boundedReads(scheduler: ReadScheduler, token: string, bounds: StatementBounds): Reads {
  return {
    rows: (query, params = {}, own = {}) => {
      const b = { ...bounds, ...own };
      return scheduler.run(token, async () => {
        try {
          return await select(scheduler.client, `${query}\n${readSettings(b)}`, params);
        } catch (err) {
          if (!LIMIT_CODES.has(String((err as { code?: unknown }).code))) throw err;
          scheduler.counters.overLimit++;
          throw new IngesterError(
            'ET_ERR_READ_LIMIT',
            `the read needs more than ${b.ms} ms or ${b.bytes} bytes (reads.statementMs, reads.statementBytes): narrow the range or filter by container (${(err as Error).message.split('\n')[0]})`,
          );
        }
      });
    },
  };
}

/** Reads without bounds or turns: tools, tests and the bench's baseline, never the API. */
export function unboundedReads(client: ClickHouseClient): Reads {
  return { rows: (query, params = {}) => select(client, query, params) };
}
