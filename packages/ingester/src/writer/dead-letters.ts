/**
 * Dead-letter rows, group-committed (storage/group-commit.ts): a flood of hostile messages costs
 * a few inserts instead of one per message. Best effort: a row is dropped when its insert fails
 * (logged once per insert) or the queue is over its byte bound (logged per row); the rejection
 * itself is still counted and logged by the caller.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.js';
import { createGroupCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';

export interface DeadLetter {
  receivedAt: number;
  topic: string;
  node: string;
  /** An error code from the protocol's or the ingester's catalogue. */
  code: string;
  detail: string;
  payload: Buffer;
  ingesterId: string;
}

export interface DeadLetterSink {
  /** Queues a row; resolves true once it is stored, false when it was dropped. */
  add(d: DeadLetter): Promise<boolean>;
  /** Resolves when every queued row is stored or dropped. */
  drain(): Promise<void>;
}

export interface DeadLetterSinkDeps {
  client: ClickHouseClient;
  logger: Logger;
  /** Bound on queued payload bytes (base64) while an insert runs. */
  maxQueueBytes?: number;
}

/** Detail text is for people; a bound keeps a hostile message from making it the big part. */
const MAX_DETAIL = 4096;

export function createDeadLetterSink(deps: DeadLetterSinkDeps): DeadLetterSink {
  const { client, logger } = deps;
  const commits = createGroupCommit<unknown[]>({
    insert: (rows) => insertRows(client, 'deadLetters', rows),
    maxQueueBytes: deps.maxQueueBytes,
    onError: (err, rows) =>
      logger.error({ code: 'ET_ERR_STORAGE_UNAVAILABLE', rows, err: err.message }, 'dead-letter rows not written'),
    onFull: (row) => logger.warn({ code: row[3], node: row[2], bytes: row[5] }, 'dead-letter row dropped'),
  });
  return {
    add(d) {
      const base64 = d.payload.toString('base64');
      const row = [
        d.receivedAt,
        d.topic,
        d.node,
        d.code,
        d.detail.slice(0, MAX_DETAIL),
        d.payload.length,
        base64,
        d.ingesterId,
      ];
      return commits.add(row, base64.length);
    },
    drain: () => commits.drain(),
  };
}
