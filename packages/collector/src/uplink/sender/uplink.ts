/**
 * The Uplink facade: submit() makes a batch durable and sends it; the record leaves the outbox
 * only on the ingester's end-to-end ack for (epoch, seq).
 *
 * Sending order: batches submitted while connected ("live") go first; then batches whose ack
 * timed out; then the backlog (everything unacknowledged when the connection came up), oldest
 * first. The budget gates every publish, so after an outage the operator sees the present at once
 * and the backlog drains behind it within the budget.
 */
import type { Batch, BatchCodec, DropCount, NodeHealth } from '@edge-telemetry/protocol';
import { topics } from '@edge-telemetry/protocol';
import {
  capacityWithin,
  createBudgetState,
  degradeLevel,
  giveBack,
  snapshot,
  tryTake,
  type BudgetState,
} from '../budget/budget.js';
import type { BudgetOptions } from '../budget/options.js';
import { CollectorError } from '../../errors.js';
import { Outbox, type OutboxRecord, type OutboxStats } from '../outbox/outbox.js';
import { RECORD_HEADER_BYTES, recordKey } from '../outbox/record.js';
import type { LinkState, Transport, TransportHandlers } from '../mqtt/transport.js';
import type { Clock } from './clock.js';
import type { SenderOptions } from './options.js';
import {
  PRIORITY_CLASS_REASONS,
  PriorityClass,
  type BatchDraft,
  type PriorityClassValue,
} from '../../batch/priority-classes.js';
import type { DropReport } from '../../batch/drops.js';
import type { BulkEncoding, ReferenceStats } from './references.js';
import { ReceiverState } from './receiver-state.js';
import { ackTimeoutFor, sampleAck, type AckEstimate } from './ack-timeout.js';

/** MQTT PUBLISH framing beyond payload and topic: fixed header (<=5), topic length (2), packet id (2). */
const PUBLISH_OVERHEAD = 9;
/** Time constant of the live-rate estimate used for the degrade level. */
const RATE_TAU_MS = 600_000;
const MAX_ACK_BACKOFF = 4;

/** The drop stage of outbox evictions (reason: the evicted record's class, PRIORITY_CLASS_REASONS). */
export const EVICT_STAGE = 'outbox.evict';
/** The drop stage of batches the codec refused to encode (reason: the batch's class). */
export const ENCODE_STAGE = 'uplink.encode';

/** A batch the codec refused (ProtocolError: ET_ERR_TOO_LARGE, ET_ERR_INVALID_FIELD, ...), for the log. */
export interface EncodeRefusal {
  epoch: number;
  seq: number;
  priorityClass: PriorityClassValue;
  windowEnd: number;
  code: string | undefined;
  message: string;
}

export interface UplinkStats {
  epoch: number;
  connected: boolean;
  /** Publish bytes (payload + topic + framing) since start, and batches published (resends included). */
  bytesSent: number;
  publishes: number;
  resends: number;
  acked: number;
  inflight: number;
  queueBatches: number;
  queueBytes: number;
  usedTodayBytes: number;
  /** Batches the codec refused to encode since start (each a drop, ENCODE_STAGE). */
  encodeRefused: number;
  budgetLeftBytes: number;
  degradeLevel: number;
  outbox: OutboxStats;
  references: ReferenceStats;
  /** For diagnosis: the link's phase, and the publish chain (sends chosen but not yet handed to the transport). */
  link: LinkState;
  chainPending: number;
  /** Clock ms of the last batch publish (0: none since start). */
  lastPublishAt: number;
  /** The last batch publish the transport refused (clock ms and message). */
  lastPublishError: LinkState['lastError'];
}

/**
 * A batch the centre acknowledged, as its node saw it: when the node first handed it to MQTT
 * (resends keep the first publish) and when the end-to-end ack reached it. The ingester sends that
 * ack only once the batch is stored, so `ackedAt - publishedAt` is its publish-to-queryable time,
 * never less. Clock ms.
 */
export interface Delivery {
  epoch: number;
  seq: number;
  publishedAt: number;
  ackedAt: number;
}

export type UplinkHealth = Pick<
  NodeHealth,
  'uplinkBytes' | 'queueBatches' | 'queueBytes' | 'budgetLeftBytes' | 'degradeLevel'
>;

export interface UplinkDeps {
  node: string;
  outbox: Outbox;
  codec: BatchCodec;
  /**
   * Re-encodes what leaves from the backlog queue (windows of the past, records left unacknowledged
   * across a reconnect), which comes in bulk: a cheaper reference level than `codec`'s, against
   * fewer references (default: `codec` against as many as live frames).
   */
  bulk?: BulkEncoding;
  clock: Clock;
  options: SenderOptions;
  budget: BudgetOptions;
  /** Creates the transport with the handlers the uplink needs (the MQTT one in production). */
  connect: (handlers: TransportHandlers) => Transport;
  onCommand?: TransportHandlers['onCommand'];
  onBadMessage?: TransportHandlers['onBadMessage'];
  /** Each batch's first end-to-end ack (the fleet simulator's per-batch latency log). */
  onDelivered?: (d: Delivery) => void;
  /** Where batches the codec refuses are counted as drops (ENCODE_STAGE), to be reported centrally. */
  drops?: DropReport;
  /** Each batch the codec refused (log it). */
  onEncodeRefused?: (r: EncodeRefusal) => void;
}

interface Inflight {
  rec: OutboxRecord;
  cancel: () => void;
  /** When the broker took it (its PUBACK; until then, when it was sent): the ack is timed from there. */
  sentAt: number;
  /** Sent for the first time: only its ack measures the ack time (a resent batch's could answer either copy). */
  first: boolean;
}

export class Uplink {
  private readonly transport: Transport;
  private readonly budget: BudgetState;
  private readonly topic: string;
  private live: OutboxRecord[] = [];
  private retry: OutboxRecord[] = [];
  private backlog: OutboxRecord[] = [];
  private backlogAt = 0;
  private readonly queued = new Set<OutboxRecord>();
  private readonly inflight = new Map<string, Inflight>();
  /** Payloads of live records still in memory from submit(), so the live path never reads the disk. */
  private readonly fresh = new WeakMap<OutboxRecord, Buffer>();
  private connected = false;
  /** When the center last acknowledged anything (0: not since start): the node's proof of contact. */
  private lastAckAt = 0;
  private generation = 0;
  private budgetTimer: (() => void) | undefined;
  private publishChain: Promise<void> = Promise.resolve();
  private chainPending = 0;
  private lastPublishAt = 0;
  private lastPublishError: LinkState['lastError'];
  private bytesSent = 0;
  private bytesReported = 0;
  private publishes = 0;
  private resends = 0;
  private acked = 0;
  private encodeRefused = 0;
  private liveRate = 0;
  /** Wire bytes per outbox byte of recent publishes (compression against earlier batches), for the live-rate estimate. */
  private wireRatio = 1;
  /** Keyframes and template texts the ingester holds (receiver-state.ts). */
  private readonly receiver: ReceiverState;
  /**
   * The ack timeout in force: doubled by every timeout up to MAX_ACK_BACKOFF x sender.ackTimeoutMs,
   * back to the measured one (ack-timeout.ts) on any ack. An ingester that lags behind its queue
   * then gets the window resent a few times an hour instead of every timeout, which would only
   * deepen its queue.
   */
  private ackTimeout: number;
  /** Ack times measured so far (undefined: none yet, the timeout is sender.ackTimeoutMs). */
  private ackEstimate: AckEstimate | undefined;
  /** Records published at least once, for Karn's rule. */
  private readonly sentBefore = new WeakSet<OutboxRecord>();
  /** When each record was first handed to the transport (clock ms), for Delivery. */
  private readonly publishedAt = new WeakMap<OutboxRecord, number>();
  private rateAt: number;
  private closed = false;

  constructor(private readonly d: UplinkDeps) {
    this.topic = topics.batch(d.node);
    this.budget = createBudgetState(d.clock.now(), d.budget);
    this.rateAt = d.clock.now();
    this.receiver = new ReceiverState(d.codec, d.options, d.bulk ? { bulk: d.bulk } : {});
    this.ackTimeout = d.options.ackTimeoutMs;
    this.transport = d.connect({
      onConnect: () => this.onConnect(),
      onDisconnect: () => this.onDisconnect(),
      onAck: (ack) => {
        if (ack.node !== d.node) return;
        this.lastAckAt = this.d.clock.now();
        for (const seq of ack.seqs) this.onAck(ack.epoch, seq);
        for (const seq of ack.resend ?? []) this.onResend(ack.epoch, seq);
        this.pump();
      },
      onCommand: (cmd) => d.onCommand?.(cmd),
      onBadMessage: (topic, err) => d.onBadMessage?.(topic, err),
    });
  }

  get epoch(): number {
    return this.d.outbox.epoch;
  }

  /**
   * Assigns (epoch, seq), adds the outbox's unreported evictions to the batch's drops, leaves out
   * the template texts the ingester already holds (receiver-state.ts), encodes,
   * appends durably and queues the batch for publishing. Resolves once the batch is on disk: from
   * then on it survives kill -9 and is delivered at least once (stored exactly once). Rejects with
   * ET_ERR_OUTBOX_FULL when only more valuable records remain (the refusal is itself counted).
   */
  async submit(batch: BatchDraft, priorityClass: PriorityClassValue): Promise<{ epoch: number; seq: number }> {
    const [one] = await this.submitGroup([{ draft: batch, priorityClass }]);
    return one as { epoch: number; seq: number };
  }

  /**
   * Submits batches that are durable together or not at all, as submit() does each, in one outbox
   * write; the last one carries `cursor` (the collector's reading positions that these batches
   * make safe to move past: Outbox.appendGroup). Items marked `backlog` (windows of the past) are
   * published after the live ones and do not count toward the live rate behind the degrade level.
   */
  async submitGroup(
    items: ReadonlyArray<{ draft: BatchDraft; priorityClass: PriorityClassValue; backlog?: boolean }>,
    options: { cursor?: Buffer } = {},
  ): Promise<Array<{ epoch: number; seq: number }>> {
    if (this.closed) throw new CollectorError('ET_ERR_UPLINK_CLOSED', this.d.node);
    const { outbox, clock } = this.d;
    const epoch = outbox.epoch;
    // Seqs in one synchronous step: a group's seqs are consecutive (the outbox finds a torn group by them).
    const seqs = items.map(() => outbox.nextSeq());
    let evictionsTaken = false;
    const prepared = items.flatMap(({ draft, priorityClass, backlog }, i) => {
      const seq = seqs[i] as number;
      // Evictions ride on summary batches only: those are evicted last, and if one is, its counts are owed again.
      const evictions =
        priorityClass === PriorityClass.summaries && !evictionsTaken ? outbox.unreportedEvictions() : [];
      const drops: DropCount[] = [...draft.drops];
      evictions.forEach((count, cls) => {
        if (count > 0)
          drops.push({ stage: EVICT_STAGE, reason: PRIORITY_CLASS_REASONS[cls] ?? String(cls), container: '', count });
      });
      const templates = this.receiver.omitHeldTexts(draft.templates);
      const payload = this.encode({ ...draft, templates, drops, epoch, seq }, priorityClass);
      // Refused: the seal goes on without it (its seq stays unused, as an evicted member's does).
      if (payload === undefined) return [];
      if (evictions.length > 0) evictionsTaken = true;
      const input = { epoch, seq, priorityClass, createdAt: clock.now(), payload, carries: evictions };
      return [{ draft, templates, payload, backlog: backlog === true, input }];
    });
    // None encoded: the outbox moves the cursor all the same (appendGroup of an empty group).
    const recs = await outbox.appendGroup(
      prepared.map((p) => p.input),
      options.cursor,
    );
    const bySeq = new Map(recs.map((r) => [r.seq, r]));
    for (const p of prepared) {
      const rec = bySeq.get(p.input.seq);
      if (rec === undefined) continue;
      this.receiver.carried(epoch, p.input.seq, p.templates, p.draft.windowEnd);
      if (!p.backlog) this.noteLive(p.payload.length * this.wireRatio);
      if (this.connected && rec.state === 'live') {
        if (p.backlog) this.enqueue(this.backlog, rec);
        else {
          if (this.live.length < this.d.options.window) this.fresh.set(rec, p.payload);
          this.enqueue(this.live, rec);
        }
      }
    }
    this.pump();
    return recs.map((r) => ({ epoch: r.epoch, seq: r.seq }));
  }

  /**
   * The batch's standalone frame, or undefined when the codec refuses it (a batch over the wire
   * limit, a field it will not carry): counted as a drop of its class and reported, so that one
   * batch does not take the rest of its seal, and the seal's reading cursor, with it.
   */
  private encode(batch: Batch, priorityClass: PriorityClassValue): Buffer | undefined {
    try {
      return this.d.codec.encode(batch);
    } catch (err) {
      this.encodeRefused++;
      this.d.drops?.drop({ stage: ENCODE_STAGE, reason: PRIORITY_CLASS_REASONS[priorityClass], container: '' });
      this.d.onEncodeRefused?.({
        epoch: batch.epoch,
        seq: batch.seq,
        priorityClass,
        windowEnd: batch.windowEnd,
        code: (err as { code?: string }).code,
        message: (err as Error).message,
      });
      return undefined;
    }
  }

  /** The newest reading cursor made durable by submitGroup (or left by the previous run). */
  cursor(): Buffer | undefined {
    return this.d.outbox.cursor();
  }

  /** Makes a cursor durable without batches (the very first start, before anything is sealed). */
  saveCursor(cursor: Buffer): Promise<void> {
    return this.d.outbox.saveCursor(cursor);
  }

  /** Figures for one batch's health section; takes the bytes sent since the previous call, so call it once per batch. */
  takeHealth(): UplinkHealth {
    const s = this.stats();
    const uplinkBytes = this.bytesSent - this.bytesReported;
    this.bytesReported = this.bytesSent;
    return {
      uplinkBytes,
      queueBatches: s.queueBatches,
      queueBytes: s.queueBytes,
      budgetLeftBytes: s.budgetLeftBytes,
      degradeLevel: s.degradeLevel,
    };
  }

  stats(): UplinkStats {
    const now = this.d.clock.now();
    const ob = this.d.outbox.stats();
    const snap = snapshot(this.budget, now, this.d.budget);
    const horizon = this.d.options.drainHorizonMs;
    const budgetLevel = degradeLevel(
      ob.liveBytes,
      this.currentRate(now),
      capacityWithin(this.budget, now, horizon, this.d.budget),
      horizon,
    );
    return {
      epoch: ob.epoch,
      connected: this.connected,
      bytesSent: this.bytesSent,
      publishes: this.publishes,
      resends: this.resends,
      acked: this.acked,
      inflight: this.inflight.size,
      queueBatches: ob.liveRecords,
      queueBytes: ob.liveBytes,
      usedTodayBytes: snap.usedTodayBytes,
      encodeRefused: this.encodeRefused,
      budgetLeftBytes: snap.budgetLeftBytes,
      degradeLevel: Math.max(budgetLevel, this.fillLevel(ob)),
      outbox: ob,
      references: this.receiver.stats(),
      link: this.transport.state(),
      chainPending: this.chainPending,
      lastPublishAt: this.lastPublishAt,
      lastPublishError: this.lastPublishError,
    };
  }

  /**
   * Publishes a log-pull message straight to the transport, ahead of every queued batch. A pull
   * needs no outbox (the ingester asks again for what it lacks) and is paced by its own allowance
   * (pull/), so it bypasses the batch budget; its bytes still count in bytesSent.
   */
  publishDirect(topic: string, payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new CollectorError('ET_ERR_UPLINK_CLOSED', this.d.node));
    this.bytesSent += payload.length + topic.length + PUBLISH_OVERHEAD;
    return this.transport.publish(topic, payload);
  }

  /** Publishes the node's online status again (its remote configuration state changed). */
  publishStatus(): void {
    if (!this.closed) this.transport.publishStatus();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** When the center last acknowledged a batch (clock ms; 0: not since start). */
  get lastContactAt(): number {
    return this.lastAckAt;
  }

  /** Stops sending, publishes the offline status, closes the outbox. Unacknowledged batches stay on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.budgetTimer?.();
    this.resetSession();
    await this.transport.close();
    await this.publishChain;
    await this.d.outbox.close();
  }

  /** Outbox fill before eviction starts: degrade at half full, so degrading comes before evicting. */
  private fillLevel(ob: OutboxStats): number {
    const cap = this.d.outbox.capBytes;
    const f = ob.liveBytes / cap;
    return f >= 0.9 ? 3 : f >= 0.75 ? 2 : f >= 0.5 ? 1 : 0;
  }

  private noteLive(bytes: number): void {
    const now = this.d.clock.now();
    this.liveRate = this.currentRate(now) + (bytes * 1000) / RATE_TAU_MS;
    this.rateAt = now;
  }

  private currentRate(now: number): number {
    return this.liveRate * Math.exp(-Math.max(0, now - this.rateAt) / RATE_TAU_MS);
  }

  private onConnect(): void {
    if (this.closed) return;
    this.resetSession();
    this.connected = true;
    this.backlog = this.d.outbox.unacked().filter((r) => r.state === 'live');
    this.backlogAt = 0;
    for (const r of this.backlog) this.queued.add(r);
    this.pump();
  }

  private onDisconnect(): void {
    this.connected = false;
    this.resetSession();
  }

  /** Forgets everything about the current connection; what is unacknowledged is still in the outbox. */
  private resetSession(): void {
    this.generation++;
    this.receiver.resetSession();
    for (const f of this.inflight.values()) f.cancel();
    this.inflight.clear();
    this.queued.clear();
    this.live = [];
    this.retry = [];
    this.backlog = [];
    this.backlogAt = 0;
  }

  private onAck(epoch: number, seq: number): void {
    const k = recordKey(epoch, seq);
    const f = this.inflight.get(k);
    if (f) {
      f.cancel();
      this.inflight.delete(k);
      if (f.first) this.ackEstimate = sampleAck(this.ackEstimate, this.d.clock.now() - f.sentAt);
    }
    const rec = this.d.outbox.record(epoch, seq);
    if (this.d.outbox.ack(epoch, seq)) {
      this.acked++;
      const publishedAt = rec && this.publishedAt.get(rec);
      if (publishedAt !== undefined) this.d.onDelivered?.({ epoch, seq, publishedAt, ackedAt: this.d.clock.now() });
    }
    const { minAckTimeoutMs, ackTimeoutMs } = this.d.options;
    this.ackTimeout = ackTimeoutFor(this.ackEstimate, minAckTimeoutMs, ackTimeoutMs);
    this.receiver.acked(epoch, seq);
  }

  /** The ingester could not read the batch for want of a reference: send it again, standalone. */
  private onResend(epoch: number, seq: number): void {
    this.receiver.unknownReference();
    const k = recordKey(epoch, seq);
    const f = this.inflight.get(k);
    if (!f) return;
    f.cancel();
    this.inflight.delete(k);
    this.resends++;
    this.enqueue(this.retry, f.rec);
  }

  private enqueue(q: OutboxRecord[], rec: OutboxRecord): void {
    if (this.queued.has(rec) || this.inflight.has(recordKey(rec.epoch, rec.seq))) return;
    this.queued.add(rec);
    q.push(rec);
  }

  private peek(): { rec: OutboxRecord; take: () => void; bulk: boolean } | undefined {
    for (;;) {
      const q = this.live.length > 0 ? this.live : this.retry.length > 0 ? this.retry : undefined;
      const rec = q ? q[0] : this.backlog[this.backlogAt];
      if (!rec) return undefined;
      const take = () => {
        this.queued.delete(rec);
        if (q) q.shift();
        else this.takeBacklog();
      };
      if (rec.state === 'live') return { rec, take, bulk: q === undefined };
      take();
    }
  }

  /**
   * Moves past the backlog's head. Windows of the past are appended to `backlog` as they are
   * sealed, all through a backlog's reading, so the records sent are cut off once they are half of
   * it: kept, they were every batch of the run (~10,000 records over a 2 GiB backlog).
   */
  private takeBacklog(): void {
    this.backlogAt++;
    if (this.backlogAt < 64 || this.backlogAt * 2 < this.backlog.length) return;
    this.backlog.splice(0, this.backlogAt);
    this.backlogAt = 0;
  }

  private pump(): void {
    if (!this.connected || this.closed || this.budgetTimer) return;
    while (this.inflight.size < this.d.options.window) {
      const next = this.peek();
      if (!next) break;
      const { rec } = next;
      const wire = rec.size - RECORD_HEADER_BYTES + this.topic.length + PUBLISH_OVERHEAD;
      const wait = tryTake(this.budget, wire, this.d.clock.now(), this.d.budget);
      if (wait > 0) {
        this.budgetTimer = this.d.clock.setTimer(() => {
          this.budgetTimer = undefined;
          this.pump();
        }, wait);
        return;
      }
      next.take();
      this.send(rec, wire, next.bulk);
    }
  }

  private send(rec: OutboxRecord, wire: number, bulk: boolean): void {
    const gen = this.generation;
    const k = recordKey(rec.epoch, rec.seq);
    // Until the broker has the batch (atBroker), the wait is its upload over the link, which on a
    // thin one takes seconds per batch of a window: only the configured timeout (or the backed-off
    // one) applies to it, never the measured ack time.
    const guardMs = Math.max(this.ackTimeout, this.d.options.ackTimeoutMs);
    this.inflight.set(k, {
      rec,
      cancel: this.armAckTimer(rec, gen, k, guardMs),
      sentAt: this.d.clock.now(),
      first: !this.sentBefore.has(rec),
    });
    this.sentBefore.add(rec);
    const payload = this.fresh.get(rec);
    this.fresh.delete(rec);
    // Chained so batches leave in the order chosen even when a disk read is slower than a cached payload.
    this.chainPending++;
    this.publishChain = this.publishChain.then(async () => {
      try {
        await this.publishFrom(rec, gen, payload, wire, bulk);
      } finally {
        this.chainPending--;
      }
    });
  }

  /** Resends `rec` if no ack came within `ms`, doubling the timeout in force (see ackTimeout). */
  private armAckTimer(rec: OutboxRecord, gen: number, k: string, ms: number): () => void {
    return this.d.clock.setTimer(() => {
      if (gen !== this.generation || this.inflight.get(k)?.rec !== rec) return;
      this.inflight.delete(k);
      this.resends++;
      this.ackTimeout = Math.min(this.ackTimeout * 2, MAX_ACK_BACKOFF * this.d.options.ackTimeoutMs);
      this.enqueue(this.retry, rec);
      this.pump();
    }, ms);
  }

  /**
   * The broker acknowledged the publish: the batch has crossed the link, and what remains is the
   * center's part (the ingester, the store, the ack's way back). The ack is timed from here, with
   * the timeout measured on earlier acks (ack-timeout.ts).
   */
  private atBroker(rec: OutboxRecord, gen: number): void {
    const k = recordKey(rec.epoch, rec.seq);
    const f = this.inflight.get(k);
    if (gen !== this.generation || f?.rec !== rec) return;
    f.cancel();
    f.cancel = this.armAckTimer(rec, gen, k, this.ackTimeout);
    f.sentAt = this.d.clock.now();
  }

  private async publishFrom(
    rec: OutboxRecord,
    gen: number,
    payload: Buffer | undefined,
    wire: number,
    bulk: boolean,
  ): Promise<void> {
    if (gen !== this.generation || rec.state !== 'live') return;
    let bytes: Buffer;
    try {
      bytes = payload ?? (await this.d.outbox.read(rec));
    } catch {
      // Gone meanwhile (acked, evicted, or the segment rewritten twice): the ack timer retries if it is still live.
      return;
    }
    if (gen !== this.generation) return;
    const frame = this.receiver.frameFor(rec, bytes, bulk);
    // The budget was taken for the standalone frame; what compression saved goes back.
    const sent = wire - bytes.length + frame.length;
    giveBack(this.budget, wire - sent, this.d.budget);
    this.wireRatio += 0.1 * (frame.length / bytes.length - this.wireRatio);
    this.bytesSent += sent;
    this.publishes++;
    this.lastPublishAt = this.d.clock.now();
    if (!this.publishedAt.has(rec)) this.publishedAt.set(rec, this.lastPublishAt);
    this.transport.publish(this.topic, frame).then(
      () => this.atBroker(rec, gen),
      (err: Error) => {
        this.lastPublishError = { at: this.d.clock.now(), message: err.message };
      },
    );
  }
}
