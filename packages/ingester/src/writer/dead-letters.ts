/**
 * Dead-letter rows, group-committed: a row goes to ClickHouse at once when no dead-letter insert
 * is running, and rows that arrive meanwhile go together in the next one. A flood of hostile
 * messages therefore costs a few inserts (and parts) instead of one per message, and a lone
 * rejection waits for nothing. Best effort: a row is dropped (and logged) when its insert fails or
 * the queue is over its byte bound; the rejection itself is still counted and logged by the caller.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.js';
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

interface Queued {
  row: unknown[];
  done: (stored: boolean) => void;
}

export function createDeadLetterSink(deps: DeadLetterSinkDeps): DeadLetterSink {
  const { client, logger } = deps;
  const maxQueueBytes = deps.maxQueueBytes ?? 64 * 1024 * 1024;
  let queue: Queued[] = [];
  let queuedBytes = 0;
  let running: Promise<void> | undefined;

  /**
   * Inserts until the queue is empty and clears `running` in the same step that finds it empty, so a
   * row added at any time is either taken by this loop or starts the next one. Never throws.
   */
  async function run(): Promise<void> {
    while (queue.length > 0) {
      const taken = queue;
      queue = [];
      queuedBytes = 0;
      let stored = true;
      try {
        await insertRows(client, 'deadLetters', taken.map((q) => q.row));
      } catch (err) {
        stored = false;
        logger.error({ code: 'ET_ERR_STORAGE_UNAVAILABLE', rows: taken.length, err: (err as Error).message }, 'dead-letter rows not written');
      }
      for (const q of taken) q.done(stored);
    }
    running = undefined;
  }

  return {
    add(d) {
      const base64 = d.payload.toString('base64');
      if (queuedBytes + base64.length > maxQueueBytes && queue.length > 0) {
        logger.warn({ code: d.code, node: d.node, bytes: d.payload.length }, 'dead-letter queue full; row dropped');
        return Promise.resolve(false);
      }
      const row = [d.receivedAt, d.topic, d.node, d.code, d.detail.slice(0, MAX_DETAIL), d.payload.length, base64, d.ingesterId];
      const stored = new Promise<boolean>((done) => queue.push({ row, done }));
      queuedBytes += base64.length;
      running ??= run();
      return stored;
    },
    async drain() {
      while (running) await running;
    },
  };
}
