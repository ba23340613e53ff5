/**
 * Routes one upstream message by its topic. First the node's quota (quotas/): a message over it
 * is dropped and counted before any other work; what a batch decompresses to is charged to the
 * node's byte share after, so that a small frame of a huge body cannot pass the quota. Batches are decoded (node id must match the
 * topic), their omitted template texts filled in, handed to the writer and acknowledged after the
 * insert; status messages go to the node registry (group-committed, latest per node); anything
 * else is rejected with a code, counted, logged (rate-limited per node) and dead-lettered
 * (group-committed, within the node's allowance). A batch whose rows ClickHouse refuses is
 * dead-lettered too, then acknowledged. Nothing here waits for a single-row insert. Never throws.
 *
 * After the quota, a message goes to its node's lane (node-lanes.ts): each node's messages in
 * order, different nodes' side by side, so one batch waiting for its keyframe does not hold up
 * the others.
 */
import {
  createBatchCodec,
  decodeStatus,
  encodeAck,
  parseUpTopic,
  topicNode,
  topics,
  type Batch,
  type BatchCodec,
  type BatchFrameHead,
} from '@edge-telemetry/protocol';
import type { Logger } from '../logger.js';
import { IngesterError } from '../errors.js';
import type { Writer } from '../writer/writer.js';
import type { DeadLetterSink } from '../writer/dead-letters.js';
import type { NodeQuotas } from '../quotas/node-quotas.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ReferenceStore } from '../references/store.js';
import type { TemplateTextResolver } from '../template-texts/resolver.js';
import { createNodeLanes } from './node-lanes.js';
import { pastRetention, placeBatch, type NodeClockBounds, type OffClock, type Placed } from './node-clock.js';

export interface RouterCounters {
  received: number;
  batchesAccepted: number;
  batchesStored: number;
  batchesDuplicate: number;
  statuses: number;
  acksPublished: number;
  /** Messages dropped for their node's quota or its share of the lanes (per node: quotas.drops()). */
  overQuota: number;
  /** Batches answered with `resend`: compressed against a reference this ingester could not find. */
  unknownReferences: number;
  /** Rejections by reason code (bounded: the codes of the two catalogues). */
  rejected: Record<string, number>;
  /** Batches stored moved to the ingester's time, their node's clock plainly wrong (node-clock.ts), by which way. */
  offClock: Record<OffClock, number>;
  /** Batches stored at their own times that ended before the shortest data retention: the TTL deletes rows of theirs at once. */
  pastRetention: number;
}

export interface RouterDeps {
  writer: Writer;
  deadLetters: DeadLetterSink;
  quotas: NodeQuotas;
  nodes: NodeRegistry;
  logger: Logger;
  ingesterId: string;
  /** Publishes at QoS 1; resolves when the broker took it. */
  publish(topic: string, payload: Buffer): Promise<void>;
  codec?: BatchCodec;
  /** Keyframe bodies for frames compressed against earlier batches; without it such frames are answered with `resend`. */
  references?: ReferenceStore;
  /** Fills in the template texts a node left out; without it rows are stored as they came. */
  templateTexts?: TemplateTextResolver;
  /** When a batch's times are taken for a wrong node clock (node-clock.ts); without it every batch is stored at its node's times. */
  nodeClock?: NodeClockBounds;
  now?: () => number;
  /** Log-pull chunks and ends (the pull coordinator); without it they are rejected as unsupported. */
  onPull?(node: string, pullId: string, payload: Buffer): Promise<void>;
}

export interface Router {
  /**
   * Resolves once the message is admitted to its node's lane (dropped over quota or beyond the
   * node's share of the lanes, or within the lanes' bounds), not when it is handled: `drain`
   * waits for that.
   */
  handle(topic: string, payload: Buffer): Promise<void>;
  /** Resolves when every message admitted so far is handled (queued for insert, stored or rejected). */
  drain(): Promise<void>;
  /**
   * Messages received and not in the writer's queue yet (in a node lane, or a batch waiting for
   * its template texts): with the writer's queue, what was received and is not stored yet.
   */
  handling(): { messages: number; bytes: number };
  counters(): RouterCounters;
}

/**
 * Messages admitted and not yet handled, at most (then the consumer stops reading the socket):
 * enough for a fleet's windows to wait for their keyframes together, few enough that payloads
 * held here stay small beside the writer's queue (writer.maxQueueBytes).
 */
const LANE_MESSAGES = 1_000;
const LANE_BYTES = 32 * 1024 * 1024;
/**
 * A node's share of them: well above what a node has in flight (its sender's window, 32 batches by
 * default and 128 at most as sized by the collector, a log pull's chunks, its statuses), so that
 * only a node whose lane fell behind meets it; four such nodes are needed to fill the lanes and
 * hold the socket for everyone.
 */
const LANE_NODE_SHARE = 1 / 4;

export function createRouter(deps: RouterDeps): Router {
  const { writer, logger, ingesterId, quotas } = deps;
  const codec = deps.codec ?? createBatchCodec();
  const now = deps.now ?? Date.now;
  const c: RouterCounters = {
    received: 0,
    batchesAccepted: 0,
    batchesStored: 0,
    batchesDuplicate: 0,
    statuses: 0,
    acksPublished: 0,
    overQuota: 0,
    unknownReferences: 0,
    rejected: {},
    offClock: { behind: 0, ahead: 0 },
    pastRetention: 0,
  };
  const lanes = createNodeLanes({
    maxMessages: LANE_MESSAGES,
    maxBytes: LANE_BYTES,
    maxNodeMessages: LANE_MESSAGES * LANE_NODE_SHARE,
    maxNodeBytes: LANE_BYTES * LANE_NODE_SHARE,
    onError: (err) => logger.error({ code: 'ET_ERR_INTERNAL', err: err.message }, 'message handler failed'),
  });
  /** Batches out of their lane and waiting for their template texts, not in the writer's queue yet. */
  const filling = { messages: 0, bytes: 0 };

  /** Counted in `filling` until the writer has it: the lane is done with the batch before its texts are read. */
  function fillThenSubmit(
    texts: TemplateTextResolver,
    batch: Batch,
    meta: Parameters<Writer['submit']>[1],
    bytes: number,
  ): ReturnType<Writer['submit']> {
    // Counted once fill() has returned (it cannot settle before this runs): one that throws is not.
    const filled = texts.fill(batch);
    filling.messages++;
    filling.bytes += bytes;
    // Out of `filling` and into the writer's queue in one run of microtasks: no timer or I/O
    // callback (metrics, the scale-out test's settled()) sees the batch in neither.
    return filled
      .finally(() => {
        filling.messages--;
        filling.bytes -= bytes;
      })
      .then((b) => writer.submit(b, meta));
  }

  /**
   * Counts, logs (a line a second per node at most: a flood must not fill the log) and queues the
   * dead-letter row; resolves with what became of the row.
   */
  function deadLetter(topic: string, node: string, code: string, detail: string, payload: Buffer) {
    c.rejected[code] = (c.rejected[code] ?? 0) + 1;
    if (quotas.mayLog(node)) logger.warn({ code, topic, node, detail, bytes: payload.length }, 'message rejected');
    return deps.deadLetters.add({ receivedAt: now(), topic, node, code, detail, payload, ingesterId });
  }

  /**
   * Does not wait for the row: dead letters are group-committed, so a flood of hostile messages
   * costs a few inserts instead of holding consumption to one insert per message.
   */
  function reject(topic: string, node: string, code: string, detail: string, payload: Buffer): void {
    void deadLetter(topic, node, code, detail, payload);
  }

  /**
   * Retrying a batch ClickHouse refused cannot help, and an unacknowledged batch comes back from its
   * node for ever: once its dead letter is stored (or the node's allowance for them is spent: it
   * is counted and logged), it is acknowledged. Not acknowledged when that row could not be
   * written: the node resends it later.
   */
  async function refused(
    topic: string,
    batch: { node: string; epoch: number; seq: number },
    err: IngesterError,
    payload: Buffer,
  ): Promise<void> {
    if ((await deadLetter(topic, batch.node, err.code, err.detail, payload)) !== 'dropped')
      await ack(batch.node, batch.epoch, batch.seq);
  }

  async function ack(node: string, epoch: number, seq: number, resend = false): Promise<void> {
    try {
      await deps.publish(
        topics.ack(node),
        encodeAck(resend ? { v: 1, node, epoch, seqs: [], resend: [seq] } : { v: 1, node, epoch, seqs: [seq] }),
      );
      c.acksPublished++;
    } catch (err) {
      // The node resends an unacknowledged batch; the ledger answers it as a duplicate.
      logger.warn({ node, epoch, seq, err: (err as Error).message }, 'ack not published');
    }
  }

  /** The bodies a frame was compressed against; none when one is unknown, which decodeFrame then answers with ET_ERR_UNKNOWN_REFERENCE. */
  async function referencesOf(node: string, head: BatchFrameHead): Promise<Buffer[]> {
    const id = head.batch;
    if (id === undefined || !deps.references) return [];
    return (await deps.references.get(node, id.epoch, head.references)) ?? [];
  }

  function unknownReference(node: string, epoch: number, seq: number): void {
    c.unknownReferences++;
    logger.info(
      { code: 'ET_ERR_UNKNOWN_REFERENCE', node, epoch, seq },
      'batch refers to an unknown keyframe; asked the node to resend it standalone',
    );
    // Not awaited: the broker's PUBACK for it is read only after this message's handling returns.
    void ack(node, epoch, seq, true);
  }

  /** Counts a batch stored moved (node-clock.ts) and says so, a line a second per node at most. */
  function movedBatch(node: string, placed: Extract<Placed, { off: OffClock }>, arrivedAt: number): void {
    c.offClock[placed.off]++;
    if (!quotas.mayLog(node)) return;
    const { sentAt, windowEnd } = placed.asSent;
    logger.warn(
      {
        code: 'ET_ERR_NODE_CLOCK',
        node,
        off: placed.off,
        windowEnd: new Date(windowEnd).toISOString(),
        skewMs: arrivedAt - sentAt,
      },
      'batch stamped by a clock that was never set or runs ahead: stored moved to its receive time',
    );
  }

  /** `arrivedAt`: when the message reached `handle`, its receive time (before its lane, references and room). */
  async function handleBatch(topic: string, node: string, payload: Buffer, arrivedAt: number): Promise<void> {
    const head = codec.head(payload);
    if (!head.ok) return reject(topic, node, head.error.code, head.error.detail, payload);
    // The node's byte share went on what its batches decompressed to (charged below): dropped
    // before that work, unacknowledged, so its outbox sends the batch again once the share refills.
    if (quotas.overdrawn(node)) {
      c.overQuota++;
      return quotas.drop(node, payload.length);
    }
    let refs: Buffer[];
    try {
      refs = await referencesOf(node, head.value);
    } catch (err) {
      // ClickHouse away: no ack, so the node sends the batch again after its timeout.
      logger.warn({ node, err: (err as Error).message }, 'references not readable; batch not acknowledged');
      return;
    }
    const decoded = codec.decodeFrame(payload, node, refs);
    // Only what the frame expanded to (its wire bytes were taken at admit): the keyframe bodies it
    // was compressed against are bytes this ingester already holds, not decoded again, and charging
    // them to every batch that names them held an honest node's backlog drain to ~10 batches a
    // second, dropped after crossing its uplink. A refused frame is charged what it decompressed
    // before it was refused (a bomb, rows with a bad field at the end), not the decoding limit:
    // that throttled a node's valid batches for every small bad one.
    quotas.charge(node, (decoded.ok ? decoded.value.body.length : decoded.decodedBytes) - payload.length);
    if (!decoded.ok) {
      const id = head.value.batch;
      if (decoded.error.code === 'ET_ERR_UNKNOWN_REFERENCE' && id) {
        unknownReference(node, id.epoch, id.seq);
        return;
      }
      return reject(topic, node, decoded.error.code, decoded.error.detail, payload);
    }
    const { batch, body } = decoded.value;
    // The ack waits for the keyframe too: the node uses a keyframe as a reference only once it is
    // acknowledged. Not awaited here, so that keyframes of many nodes share one insert. (A
    // redelivered batch stores its keyframe again: it may have been sent as a keyframe only now.)
    const keyframe =
      head.value.keyframe && deps.references
        ? deps.references.put(batch.node, batch.epoch, batch.seq, body)
        : undefined;
    // Its refusal is handled below, after the waits for room: until then nothing would handle it,
    // and a refusal meanwhile (ClickHouse full or away) ended the process as an unhandled rejection.
    keyframe?.catch(() => undefined);
    await writer.waitForRoom();
    await deps.templateTexts?.waitForRoom();
    c.batchesAccepted++;
    // When it reached this ingester, not when its waits here ended (its lane, the keyframe read,
    // the writer's room): the ledger's send-to-receive delay and skew are the node's and the
    // network's (issue 21: stamped here, a keyframe read passed for delay before the ingester).
    // Moved before its texts are filled: they are looked up by the times the rows are stored at.
    const placed: Placed = deps.nodeClock ? placeBatch(batch, arrivedAt, deps.nodeClock) : { batch };
    if (placed.off !== undefined) movedBatch(node, placed, arrivedAt);
    else if (deps.nodeClock && pastRetention(batch, arrivedAt, deps.nodeClock)) c.pastRetention++;
    const meta = {
      receivedAt: arrivedAt,
      wireBytes: payload.length,
      ingesterId,
      ...(placed.off !== undefined ? { asSent: placed.asSent } : {}),
    };
    // Not awaited either: batches whose texts must be read from ClickHouse share one read.
    const stored = deps.templateTexts
      ? fillThenSubmit(deps.templateTexts, placed.batch, meta, payload.length)
      : writer.submit(placed.batch, meta);
    // The answer needs the batch's key alone. Kept by this closure until the ack, the decoded batch
    // (an object per row, its strings and maps) outlived the flush, so the garbage collector copied
    // it and moved it to the old generation instead of dropping it young (issue 21: GC was a fifth
    // of an ingester's CPU under a burst).
    const { epoch, seq } = batch;
    Promise.allSettled([stored, keyframe]).then(async ([s, k]) => {
      if (s.status === 'rejected') {
        const err = s.reason as Error;
        if (err instanceof IngesterError && err.code === 'ET_ERR_STORAGE_REJECTED')
          return refused(topic, { node, epoch, seq }, err, payload);
        return logger.warn({ node, epoch, seq, err: err.message }, 'batch not stored; not acknowledged');
      }
      if (s.value === 'stored') c.batchesStored++;
      else c.batchesDuplicate++;
      if (k.status === 'rejected')
        return logger.warn(
          { node, epoch, seq, err: (k.reason as Error).message },
          'keyframe not stored; batch not acknowledged',
        );
      await ack(node, epoch, seq);
    });
  }

  function handleStatus(topic: string, node: string, payload: Buffer): void {
    const decoded = decodeStatus(payload, node);
    if (!decoded.ok) return reject(topic, node, decoded.error.code, decoded.error.detail, payload);
    c.statuses++;
    deps.nodes.noted(decoded.value, now());
  }

  return {
    async handle(topic, payload) {
      const arrivedAt = now();
      c.received++;
      const parsed = parseUpTopic(topic);
      const sender = parsed?.node ?? topicNode(topic) ?? '';
      if (!quotas.admit(sender, payload.length)) {
        c.overQuota++;
        return;
      }
      if (!parsed)
        return reject(
          topic,
          sender,
          'ET_ERR_UNKNOWN_TOPIC',
          `not an upstream protocol topic: ${topic.slice(0, 200)}`,
          payload,
        );
      const { node } = parsed;
      const admitted = await lanes.admit(node, payload.length, async () => {
        switch (parsed.kind) {
          case 'batch':
            return handleBatch(topic, node, payload, arrivedAt);
          case 'status':
            return handleStatus(topic, node, payload);
          case 'pull':
            if (deps.onPull) return deps.onPull(node, parsed.pullId, payload);
            return reject(
              topic,
              node,
              'ET_ERR_UNSUPPORTED_KIND',
              'log pulls are not handled by this ingester',
              payload,
            );
        }
      });
      // Beyond the node's share of the lanes: dropped and counted as over its quota (a batch comes
      // again after the node's ack timeout), so that it cannot hold the others at the socket.
      if (!admitted) {
        c.overQuota++;
        quotas.drop(node, payload.length);
      }
    },
    drain: () => lanes.drain(),
    handling: () => {
      const l = lanes.pending();
      return { messages: l.messages + filling.messages, bytes: l.bytes + filling.bytes };
    },
    counters: () => structuredClone(c),
  };
}
