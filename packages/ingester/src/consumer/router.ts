/**
 * Routes one upstream message by its topic: batches are decoded (node id must match the topic),
 * handed to the writer and acknowledged after the insert; status messages update node status;
 * anything else is rejected with a code, counted, logged and dead-lettered. Never throws.
 */
import { createBatchCodec, decodeStatus, encodeAck, parseUpTopic, topics, type BatchCodec } from '@edge-telemetry/protocol';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.js';
import type { Writer } from '../writer/writer.js';
import { insertRows } from '../storage/insert.js';

export interface RouterCounters {
  received: number;
  batchesAccepted: number;
  batchesStored: number;
  batchesDuplicate: number;
  statuses: number;
  acksPublished: number;
  /** Rejections by reason code (bounded: the codes of the two catalogues). */
  rejected: Record<string, number>;
}

export interface RouterDeps {
  client: ClickHouseClient;
  writer: Writer;
  logger: Logger;
  ingesterId: string;
  /** Publishes at QoS 1; resolves when the broker took it. */
  publish(topic: string, payload: Buffer): Promise<void>;
  codec?: BatchCodec;
  now?: () => number;
  /** Log-pull chunks and ends (the pull coordinator); without it they are rejected as unsupported. */
  onPull?(node: string, pullId: string, payload: Buffer): Promise<void>;
}

export interface Router {
  /** Resolves once the message is admitted (queued for insert, stored or rejected), not when it is stored. */
  handle(topic: string, payload: Buffer): Promise<void>;
  counters(): RouterCounters;
}

export function createRouter(deps: RouterDeps): Router {
  const { client, writer, logger, ingesterId } = deps;
  const codec = deps.codec ?? createBatchCodec();
  const now = deps.now ?? Date.now;
  const c: RouterCounters = { received: 0, batchesAccepted: 0, batchesStored: 0, batchesDuplicate: 0, statuses: 0, acksPublished: 0, rejected: {} };

  async function reject(topic: string, node: string, code: string, detail: string, payload: Buffer): Promise<void> {
    c.rejected[code] = (c.rejected[code] ?? 0) + 1;
    logger.warn({ code, topic, node, detail, bytes: payload.length }, 'message rejected');
    try {
      await insertRows(client, 'deadLetters', [[now(), topic, node, code, detail.slice(0, 4096), payload.length, payload.toString('base64'), ingesterId]]);
    } catch (err) {
      // The counter and the log line stand; the row is best effort while ClickHouse is away.
      logger.error({ code: 'ET_ERR_STORAGE_UNAVAILABLE', err: (err as Error).message }, 'dead-letter row not written');
    }
  }

  async function ack(node: string, epoch: number, seq: number): Promise<void> {
    try {
      await deps.publish(topics.ack(node), encodeAck({ v: 1, node, epoch, seqs: [seq] }));
      c.acksPublished++;
    } catch (err) {
      // The node resends an unacknowledged batch; the ledger answers it as a duplicate.
      logger.warn({ node, epoch, seq, err: (err as Error).message }, 'ack not published');
    }
  }

  async function handleBatch(topic: string, node: string, payload: Buffer): Promise<void> {
    const decoded = codec.decode(payload, node);
    if (!decoded.ok) return reject(topic, node, decoded.error.code, decoded.error.detail, payload);
    const batch = decoded.value;
    await writer.waitForRoom();
    c.batchesAccepted++;
    writer.submit(batch, { receivedAt: now(), wireBytes: payload.length, ingesterId }).then(
      async (outcome) => {
        if (outcome === 'stored') c.batchesStored++;
        else c.batchesDuplicate++;
        await ack(batch.node, batch.epoch, batch.seq);
      },
      (err: Error) => logger.warn({ node, epoch: batch.epoch, seq: batch.seq, err: err.message }, 'batch not stored; not acknowledged'),
    );
  }

  async function handleStatus(topic: string, node: string, payload: Buffer): Promise<void> {
    const decoded = decodeStatus(payload, node);
    if (!decoded.ok) return reject(topic, node, decoded.error.code, decoded.error.detail, payload);
    const s = decoded.value;
    c.statuses++;
    try {
      await insertRows(client, 'status', [[node, s.state, s.at, now(), s.agentVersion]]);
    } catch (err) {
      // Status is retained on the broker and sent again on every connect; losing one row is harmless.
      logger.warn({ node, err: (err as Error).message }, 'node status not stored');
    }
  }

  return {
    async handle(topic, payload) {
      c.received++;
      const parsed = parseUpTopic(topic);
      if (!parsed) return reject(topic, '', 'ET_ERR_UNKNOWN_TOPIC', `not an upstream protocol topic: ${topic.slice(0, 200)}`, payload);
      switch (parsed.kind) {
        case 'batch':
          return handleBatch(topic, parsed.node, payload);
        case 'status':
          return handleStatus(topic, parsed.node, payload);
        case 'pull':
          if (deps.onPull) return deps.onPull(parsed.node, parsed.pullId, payload);
          return reject(topic, parsed.node, 'ET_ERR_UNSUPPORTED_KIND', 'log pulls are not handled by this ingester', payload);
      }
    },
    counters: () => structuredClone(c),
  };
}
