/**
 * Dead-letter rows, group-committed (storage/group-commit.ts): a flood of hostile messages costs
 * a few inserts instead of one per message. A row keeps what identifies and explains a rejected
 * message, never the whole of it: the first PAYLOAD_PREFIX_BYTES of the payload (base64), its
 * size and its sha256, the topic (capped) and the reason. Each node's rows count against its
 * dead-letter allowance of the day (quotas/); beyond it they are not stored. Best effort: a row is
 * dropped when its insert fails (logged once per insert) or the queue is over its byte bound; the
 * rejection itself is still counted and logged by the caller.
 */
import { createHash } from 'node:crypto';
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

export type DeadLetterOutcome = 'stored' | 'over-quota' | 'dropped';

export interface DeadLetterSink {
  /** Queues a row; resolves once it is stored, or with why it was not. */
  add(d: DeadLetter): Promise<DeadLetterOutcome>;
  /** Resolves when every queued row is stored or dropped. */
  drain(): Promise<void>;
}

export interface DeadLetterSinkDeps {
  client: ClickHouseClient;
  logger: Logger;
  /** Takes a row's bytes from its node's allowance of the day (quotas/node-quotas.ts); false = over it. */
  allowance?: (node: string, bytes: number) => boolean;
  /** Bound on queued row bytes while an insert runs. */
  maxQueueBytes?: number;
  /** Least time between the starts of two dead-letter inserts (default 2 s). */
  minIntervalMs?: number;
}

/** Enough of a payload to see what it was (a frame's head, the start of a JSON body). */
export const PAYLOAD_PREFIX_BYTES = 4096;
/** Detail text is for people; a bound keeps a hostile message from making it the big part. */
const MAX_DETAIL = 4096;
const MAX_TOPIC = 512;

export function createDeadLetterSink(deps: DeadLetterSinkDeps): DeadLetterSink {
  const { client, logger } = deps;
  const commits = createGroupCommit<unknown[]>({
    insert: (rows) => insertRows(client, 'deadLetters', rows),
    maxQueueBytes: deps.maxQueueBytes,
    // A steady stream of rejections takes one insert per interval at most: engine time stays the writer's.
    minIntervalMs: deps.minIntervalMs ?? 2000,
    onError: (err, rows) =>
      logger.error({ code: 'ET_ERR_STORAGE_UNAVAILABLE', rows, err: err.message }, 'dead-letter rows not written'),
    onFull: (row) => logger.warn({ code: row[3], node: row[2], bytes: row[5] }, 'dead-letter row dropped'),
  });
  return {
    async add(d) {
      const prefix = d.payload.subarray(0, PAYLOAD_PREFIX_BYTES).toString('base64');
      const topic = d.topic.slice(0, MAX_TOPIC);
      const detail = d.detail.slice(0, MAX_DETAIL);
      const bytes = prefix.length + topic.length + detail.length + d.node.length + d.code.length;
      if (deps.allowance && !deps.allowance(d.node, bytes)) return 'over-quota';
      const sha256 = createHash('sha256').update(d.payload).digest('hex');
      const row = [d.receivedAt, topic, d.node, d.code, detail, d.payload.length, prefix, d.ingesterId, sha256];
      return (await commits.add(row, bytes)) ? 'stored' : 'dropped';
    },
    drain: () => commits.drain(),
  };
}
