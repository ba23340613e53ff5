/**
 * Per-node quotas (the `quotas` section of the ingester's config). Each node gets a share of the
 * ingester that no other node can take: its messages and bytes per second on every topic, and the
 * dead-letter bytes it may cause per day. The defaults leave room for a node's normal traffic, a
 * backlog drain after a long outage and a fast log pull, and stop a flood long before it slows
 * the others.
 */
import { Type, type Static } from '@sinclair/typebox';

export const QuotaOptions = Type.Object(
  {
    messagesPerSecond: Type.Number({
      minimum: 0.01,
      default: 200,
      description:
        'Messages per second each node may send on all its topics together (token-bucket rate; a log pull sends some 70 chunks/s at full speed); beyond it messages are dropped unprocessed and counted per node (a batch is then not acknowledged: the node sends it again later).',
    }),
    messageBurst: Type.Integer({
      minimum: 1,
      default: 1000,
      description: 'Messages a node may send at once before messagesPerSecond applies (bucket size).',
    }),
    bytesPerSecond: Type.Integer({
      minimum: 1024,
      default: 4 * 1024 * 1024,
      description:
        'Bytes per second each node may send on all its topics together: payloads as received, and what its batches decompress to beyond that (a small frame may hold 16 MiB of rows); beyond it messages are dropped and counted (a batch is then not acknowledged: the node sends it again later).',
    }),
    byteBurst: Type.Integer({
      minimum: 1024 * 1024,
      default: 32 * 1024 * 1024,
      description:
        'Bytes a node may send at once before bytesPerSecond applies (at least the largest batch); what a batch decompressed to may take the share up to this much below empty.',
    }),
    deadLetterBytesPerDay: Type.Integer({
      minimum: 0,
      default: 16 * 1024 * 1024,
      description:
        'Bytes of dead-letter rows (capped payload prefix, detail, topic) each node may cause per UTC day; beyond it rejections are still counted and logged, not stored.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type QuotaConfig = Static<typeof QuotaOptions>;
