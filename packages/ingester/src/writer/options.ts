/** The writer's options (the `writer` section of the ingester's config): when to insert, how much to hold, how to retry. */
import { Type, type Static } from '@sinclair/typebox';

export const WriterOptions = Type.Object(
  {
    flushRows: Type.Integer({
      minimum: 1,
      default: 50_000,
      description: 'Insert when this many rows are queued for one table (ClickHouse advises 10k-100k rows per insert).',
    }),
    flushBytes: Type.Integer({
      minimum: 1024,
      default: 16 * 1024 * 1024,
      description: 'Insert when the queued rows reach about this many bytes.',
    }),
    flushIntervalMs: Type.Integer({
      minimum: 10,
      default: 250,
      description:
        'Least time between the starts of two flushes of a partial group (less than flushRows / flushBytes): while the queue is shallow, the bound on inserts (and parts) per table of one ingester, 1000 / flushIntervalMs a second (4 at the default). A full group starts at once, up to concurrentFlushes side by side: under a deep queue (a fleet reconnecting after an outage) the inserts are as large as flushRows / flushBytes allow, and their rate is what the engine takes. Otherwise a flush starts as soon as the interval allows (group commit): a batch reaching an idle writer is inserted at once if flushIntervalMs has passed since the last flush started (else when it has), batches arriving during a flush go in the next one, which takes everything waiting, so groups grow with the load and a batch waits for the flush running, the rest of the interval, and its own flush.',
    }),
    concurrentFlushes: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 2,
      description:
        "Flushes that may run at once. A flush beside a running one starts only for a full group (a table at flushRows, or flushBytes): a queue that deep is worth ClickHouse's insert rate and parts; smaller groups wait for the running flush, whose next group takes them all (a flush is about ten statements whatever its size). 1 = one group at a time.",
    }),
    maxQueueBytes: Type.Integer({
      minimum: 1024,
      default: 128 * 1024 * 1024,
      description: 'Memory bound: above this the consumer stops taking messages until inserts catch up.',
    }),
    maxQueueBatches: Type.Integer({
      minimum: 1,
      default: 20_000,
      description: 'Bound on batches waiting for insert; above it the consumer stops taking messages.',
    }),
    retryMinMs: Type.Integer({
      minimum: 1,
      default: 200,
      description: 'First retry delay after a failed insert; doubles up to retryMaxMs.',
    }),
    retryMaxMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Longest retry delay after failed inserts.' }),
  },
  { additionalProperties: false, default: {} },
);

export type WriterConfig = Static<typeof WriterOptions>;
