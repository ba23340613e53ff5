/**
 * The log-pull coordinator: turns a request into a `pull` command on the node's command topic,
 * stores the chunks that come back (each once), verifies the node's digest, and drives resume:
 * after the node's `end` it asks for missing chunks (`resend`); when a running pull stops making
 * progress (a cut, a restarted node) it sends `pull` with `fromChunk` past what it has, plus
 * `resend` for the gaps below, backing off while nothing comes.
 *
 * State lives in memory while a pull runs and in et_log_pulls on every transition, so any reader
 * (and a restarted ingester's API) can still see finished pulls. A pull runs in the ingester that
 * accepted it: with several ingesters on a shared subscription, a chunk taken by another one is
 * counted there as unknown and found missing here, then asked for again (see the README).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  createPullCodec,
  encodeCommand,
  topics,
  type CommandMessage,
  type PullCodec,
  type PullFilter,
  type PullMessage,
} from '@edge-telemetry/protocol';
import type { Logger } from '../logger.js';
import {
  admitChunk,
  chunkFailed,
  chunkStored,
  createTracker,
  isComplete,
  missingChunks,
  type ChunkTracker,
} from './chunk-tracker.js';
import { pullError } from './errors.js';
import { chunkRows } from './line-rows.js';
import type { PullCoordinatorOptionsT } from './options.js';
import {
  loadChunkEnd,
  loadLines,
  loadPull,
  saveLines,
  savePull,
  type PullRecord,
  type PullStateName,
} from './repository.js';
import { actorLabel, type AuditEntry, type AuditLog } from '../auth/audit-log.js';
import type { Principal } from '../auth/roles.js';

export interface PullCoordinatorDeps {
  client: ClickHouseClient;
  /** QoS 1 publish through the ingester's broker connection. */
  publish(topic: string, payload: Buffer): Promise<void>;
  logger: Logger;
  options: PullCoordinatorOptionsT;
  /** The API's audit trail (auth/audit-log.ts): every request, cancel and outcome goes in it. */
  audit: Pick<AuditLog, 'record'>;
  now?: () => number;
}

export interface CreatePullInput {
  node: string;
  filter: PullFilter;
  /** The authenticated caller; undefined where the API runs without auth (then 'anonymous'). */
  actor: Principal | undefined;
  remoteAddress: string;
  expiresInMs?: number;
}

export interface PullCounters {
  created: number;
  refused: number;
  commandsPublished: Record<CommandMessage['type'], number>;
  /** Chunk messages received, and of those: stored, duplicates (already stored or pending), for unknown or finished pulls. */
  chunksReceived: number;
  chunksStored: number;
  chunksDuplicate: number;
  chunksIgnored: number;
  badMessages: number;
  resumes: number;
}

export interface PullProgress {
  record: PullRecord;
  /** Chunks 0..contiguous-1 are stored and may be read. */
  contiguous: number;
  terminal: boolean;
}

export interface PullCoordinator {
  create(input: CreatePullInput): Promise<PullRecord>;
  /** Audits a refused request (bad input, no permission): every request is in the audit table. */
  refuse(input: Omit<CreatePullInput, 'filter'> & { filter: unknown; reason: string }): Promise<void>;
  get(id: string): Promise<PullRecord | undefined>;
  progress(id: string): Promise<PullProgress | undefined>;
  /** Resolves on the pull's next change, or after `timeoutMs`. */
  changed(id: string, timeoutMs: number): Promise<void>;
  readLines(id: string, fromSeq: number, toSeq: number): Promise<string[]>;
  cancel(id: string, by: Principal | undefined, remoteAddress: string): Promise<PullRecord | undefined>;
  /** A message from `et/v1/{node}/up/pull/{pullId}`. Never throws. */
  handle(node: string, pullId: string, payload: Buffer): Promise<void>;
  counters(): PullCounters;
  close(): void;
}

interface Active {
  record: PullRecord;
  tracker: ChunkTracker;
  digestExpected?: string;
  /** An `end` arrived: decide (done, or resend the gaps) once no insert is pending. */
  endPending: boolean;
  hash: Hash;
  hashedUpTo: number;
  reorder: Map<number, string>;
  reorderBytes: number;
  /** Out-of-order text exceeded the bound: the digest is finished from ClickHouse. */
  reorderOverflow: boolean;
  lastProgressAt: number;
  lastResumeAt: number;
  stallInterval: number;
  waiters: Set<() => void>;
  finishing: boolean;
}

const TERMINAL: ReadonlySet<PullStateName> = new Set(['done', 'failed', 'expired', 'cancelled']);
const READBACK_CHUNKS = 64;
/** Raw line bytes per insert at most: large enough to amortise an insert, small enough not to hold readers up. */
const INSERT_BATCH_BYTES = 1024 * 1024;

export function createPullCoordinator(d: PullCoordinatorDeps): PullCoordinator {
  const o = d.options;
  const now = d.now ?? Date.now;
  const codec: PullCodec = createPullCodec();
  const active = new Map<string, Active>();
  const c: PullCounters = {
    created: 0,
    refused: 0,
    commandsPublished: { pull: 0, cancel: 0, resend: 0 },
    chunksReceived: 0,
    chunksStored: 0,
    chunksDuplicate: 0,
    chunksIgnored: 0,
    badMessages: 0,
    resumes: 0,
  };
  let queue: { p: Active; m: Extract<PullMessage, { type: 'chunk' }>; bytes: number }[] = [];
  let queuedBytes = 0;
  let flushing: Promise<void> | undefined;
  const ticker = setInterval(tick, Math.max(50, Math.min(1000, Math.floor(o.stallMs / 4))));
  ticker.unref();

  /**
   * Publishes without waiting for the broker's PUBACK: this runs inside the MQTT client's message
   * handler, which must return before the client reads that PUBACK (waiting would deadlock).
   */
  function command(node: string, cmd: CommandMessage): void {
    c.commandsPublished[cmd.type]++;
    d.publish(topics.cmd(node), encodeCommand(cmd)).catch((err: Error) => {
      // The stall timer sends again; a first `pull` that never left is reported by the expiry.
      d.logger.warn({ node, pullId: cmd.pullId, type: cmd.type, err: err.message }, 'pull command not published');
    });
  }

  async function persist(p: Active | PullRecord): Promise<void> {
    const r = 'record' in p ? p.record : p;
    try {
      await savePull(d.client, r, now());
    } catch (err) {
      d.logger.warn({ pullId: r.id, err: (err as Error).message }, 'pull state row not written');
    }
  }

  async function audit(e: AuditEntry): Promise<void> {
    try {
      await d.audit.record(e);
    } catch (err) {
      // The log line is the audit record of last resort while ClickHouse is away.
      d.logger.error(
        { action: e.action, pullId: e.pullId, node: e.node, who: actorLabel(e.actor), err: (err as Error).message },
        'pull audit row not written',
      );
    }
  }

  function notify(p: Active): void {
    for (const w of p.waiters) w();
    p.waiters.clear();
  }

  async function finish(
    p: Active,
    state: PullStateName,
    error: string | undefined,
    by?: Principal,
    remoteAddress = '',
  ): Promise<void> {
    if (TERMINAL.has(p.record.state)) return;
    p.record.state = state;
    p.record.finishedAt = now();
    if (error) p.record.error = error;
    notify(p);
    const r = p.record;
    d.logger.info(
      { pullId: r.id, node: r.node, state, lines: r.linesReceived, bytes: r.bytesReceived, error },
      'log pull finished',
    );
    await persist(p);
    await audit({
      actor: by,
      action: state === 'cancelled' ? 'cancel' : 'finish',
      outcome: state === 'done' || state === 'cancelled' ? 'ok' : 'failed',
      reason: error ?? state,
      detail: { state, requestedBy: r.requestedBy, filter: r.filter },
      node: r.node,
      pullId: r.id,
      remoteAddress,
      lines: r.linesReceived,
      bytes: r.bytesReceived,
    });
  }

  function hashStored(p: Active, seq: number, lines: readonly string[]): void {
    const text = lines.join('\n') + '\n';
    if (seq === p.hashedUpTo && !p.reorderOverflow) {
      p.hash.update(text);
      p.hashedUpTo++;
      for (let next = p.reorder.get(p.hashedUpTo); next !== undefined; next = p.reorder.get(p.hashedUpTo)) {
        p.reorder.delete(p.hashedUpTo);
        p.reorderBytes -= next.length;
        p.hash.update(next);
        p.hashedUpTo++;
      }
    } else if (!p.reorderOverflow) {
      p.reorder.set(seq, text);
      p.reorderBytes += text.length;
      if (p.reorderBytes > o.maxReorderBytes) {
        p.reorderOverflow = true;
        p.reorder.clear();
        p.reorderBytes = 0;
      }
    }
  }

  async function finalDigest(p: Active, total: number): Promise<string> {
    for (let s = p.hashedUpTo; s < total; s += READBACK_CHUNKS) {
      const lines = await loadLines(d.client, p.record.id, s, Math.min(total, s + READBACK_CHUNKS));
      if (lines.length > 0) p.hash.update(lines.join('\n') + '\n');
    }
    p.hashedUpTo = total;
    return p.hash.digest('hex');
  }

  async function settle(p: Active): Promise<void> {
    const t = p.tracker;
    if (!p.endPending || t.pending.size > 0 || p.finishing || TERMINAL.has(p.record.state)) return;
    p.endPending = false;
    if (isComplete(t)) {
      p.finishing = true;
      let digest: string;
      try {
        digest = await finalDigest(p, t.total ?? 0);
      } catch (err) {
        // Lines unreadable right now: the stall timer brings another `end` and another try.
        p.finishing = false;
        d.logger.warn({ pullId: p.record.id, err: (err as Error).message }, 'pull digest not computed');
        return;
      }
      if (digest === p.digestExpected) await finish(p, 'done', undefined);
      else
        await finish(
          p,
          'failed',
          pullError('ET_ERR_PULL_DIGEST_MISMATCH', `node ${p.digestExpected ?? '?'}, stored ${digest}`),
        );
      return;
    }
    const missing = missingChunks(t);
    if (missing.length > 0) {
      p.lastResumeAt = now();
      command(p.record.node, {
        v: 1,
        type: 'resend',
        pullId: p.record.id,
        expiresAt: now() + o.commandTtlMs,
        chunks: missing,
      });
    }
  }

  /**
   * Stores a new chunk behind a write queue: chunks that arrive while an insert runs go into the
   * next insert together (one insert per chunk bounded a fast pull at the engine's insert rate).
   * The MQTT client hands over the next message only when this resolves, so waiting here while
   * the queue is over `insertQueueBytes` is the backpressure.
   */
  async function onChunk(p: Active, m: Extract<PullMessage, { type: 'chunk' }>): Promise<void> {
    if (!admitChunk(p.tracker, m.seq)) {
      c.chunksDuplicate++;
      return;
    }
    let bytes = 0;
    for (const l of m.lines) bytes += Buffer.byteLength(l);
    queue.push({ p, m, bytes });
    queuedBytes += bytes;
    flushing ??= flushQueue().finally(() => {
      flushing = undefined;
    });
    while (queuedBytes > o.insertQueueBytes && flushing) await flushing;
  }

  async function flushQueue(): Promise<void> {
    while (queue.length > 0) {
      // Bounded inserts: a reader's query waits behind the insert that is running.
      let take = 0;
      for (let b = 0; take < queue.length && (take === 0 || b < INSERT_BATCH_BYTES); take++)
        b += (queue[take] as { bytes: number }).bytes;
      const batch = queue.slice(0, take);
      queue = queue.slice(take);
      const at = Math.floor(now() / 1000);
      let stored = true;
      try {
        await saveLines(
          d.client,
          batch.flatMap((q) => chunkRows(q.p.record.id, q.m.seq, q.m.lines, at)),
        );
      } catch (err) {
        stored = false;
        d.logger.warn(
          { chunks: batch.length, err: (err as Error).message },
          'pulled chunks not stored; they will be asked for again',
        );
      }
      for (const { p, m, bytes } of batch) {
        queuedBytes -= bytes;
        if (!stored) {
          chunkFailed(p.tracker, m.seq);
          continue;
        }
        chunkStored(p.tracker, m.seq);
        c.chunksStored++;
        hashStored(p, m.seq, m.lines);
        p.record.linesReceived += m.lines.length;
        p.record.bytesReceived += bytes;
        p.lastProgressAt = now();
        p.stallInterval = o.stallMs;
        notify(p);
      }
      for (const p of new Set(batch.map((q) => q.p))) await settle(p);
    }
  }

  async function onEnd(p: Active, m: Extract<PullMessage, { type: 'end' }>): Promise<void> {
    p.lastProgressAt = now();
    if (m.error) {
      const cancelled = m.error.startsWith('ET_ERR_PULL_CANCELLED');
      await finish(
        p,
        cancelled ? 'cancelled' : 'failed',
        cancelled ? m.error : m.error.startsWith('ET_ERR_') ? m.error : pullError('ET_ERR_PULL_NODE', m.error),
      );
      return;
    }
    p.tracker.total = m.chunks;
    p.digestExpected = m.digest;
    p.record.chunksExpected = m.chunks;
    p.record.bytesExpected = m.bytes;
    p.endPending = true;
    notify(p);
    await settle(p);
  }

  function resume(p: Active): void {
    const t = p.tracker;
    c.resumes++;
    p.lastResumeAt = now();
    p.stallInterval = Math.min(o.maxStallMs, p.stallInterval * 2);
    const expiresAt = now() + o.commandTtlMs;
    // `pull` first: a node that restarted learns the filter again; a node still running ignores it.
    command(p.record.node, {
      v: 1,
      type: 'pull',
      pullId: p.record.id,
      expiresAt,
      filter: p.record.filter,
      fromChunk: t.total ?? t.highest + 1,
    });
    const missing = missingChunks(t);
    if (missing.length > 0)
      command(p.record.node, { v: 1, type: 'resend', pullId: p.record.id, expiresAt, chunks: missing });
  }

  function tick(): void {
    const t = now();
    for (const [id, p] of active) {
      const r = p.record;
      if (TERMINAL.has(r.state)) {
        if (t - (r.finishedAt ?? t) >= o.keepFinishedMs) active.delete(id);
        continue;
      }
      if (r.state === 'queued') {
        if (t >= r.expiresAt)
          void finish(
            p,
            'expired',
            pullError('ET_ERR_PULL_EXPIRED', `no answer from ${r.node} by ${new Date(r.expiresAt).toISOString()}`),
          );
        continue;
      }
      if (t - p.lastProgressAt >= o.abandonMs) {
        void finish(
          p,
          'failed',
          pullError('ET_ERR_PULL_STALLED', `no progress for ${Math.round((t - p.lastProgressAt) / 1000)} s`),
        );
        continue;
      }
      if (p.tracker.pending.size === 0 && t - p.lastProgressAt >= o.stallMs && t - p.lastResumeAt >= p.stallInterval)
        resume(p);
    }
  }

  return {
    async create(input) {
      const t = now();
      const expiresIn = Math.min(o.maxExpiresInMs, input.expiresInMs ?? o.expiresInMs);
      // A fixed end keeps the chunks the same when the node rebuilds them later (resume, resend).
      const filter: PullFilter = { ...input.filter, until: input.filter.until ?? t };
      const record: PullRecord = {
        id: randomBytes(12).toString('base64url'),
        node: input.node,
        state: 'queued',
        filter,
        requestedBy: input.actor ? actorLabel(input.actor) : 'anonymous',
        createdAt: t,
        expiresAt: t + expiresIn,
        linesReceived: 0,
        bytesReceived: 0,
      };
      const p: Active = {
        record,
        tracker: createTracker(),
        endPending: false,
        hash: createHash('sha256'),
        hashedUpTo: 0,
        reorder: new Map(),
        reorderBytes: 0,
        reorderOverflow: false,
        lastProgressAt: t,
        lastResumeAt: t,
        stallInterval: o.stallMs,
        waiters: new Set(),
        finishing: false,
      };
      active.set(record.id, p);
      c.created++;
      await persist(p);
      await audit({
        actor: input.actor,
        action: 'request',
        outcome: 'ok',
        detail: { filter },
        node: record.node,
        pullId: record.id,
        remoteAddress: input.remoteAddress,
      });
      command(record.node, {
        v: 1,
        type: 'pull',
        pullId: record.id,
        expiresAt: record.expiresAt,
        filter,
        fromChunk: 0,
      });
      return { ...record };
    },

    async refuse(input) {
      c.refused++;
      await audit({
        actor: input.actor,
        action: 'request',
        outcome: 'refused',
        reason: input.reason,
        detail: { filter: input.filter },
        node: input.node,
        remoteAddress: input.remoteAddress,
      });
    },

    async get(id) {
      const p = active.get(id);
      return p ? { ...p.record, filter: { ...p.record.filter } } : loadPull(d.client, id);
    },

    async progress(id) {
      const p = active.get(id);
      if (p)
        return { record: { ...p.record }, contiguous: p.tracker.contiguous, terminal: TERMINAL.has(p.record.state) };
      const r = await loadPull(d.client, id);
      if (!r) return undefined;
      // Not running here: what is stored is all there will be (a gap reads as an empty stretch).
      return {
        record: r,
        contiguous:
          r.state === 'done' && r.chunksExpected !== undefined ? r.chunksExpected : await loadChunkEnd(d.client, id),
        terminal: true,
      };
    },

    changed(id, timeoutMs) {
      const p = active.get(id);
      if (!p || TERMINAL.has(p.record.state)) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          p?.waiters.delete(done);
          resolve();
        }
        p.waiters.add(done);
      });
    },

    readLines: (id, fromSeq, toSeq) => loadLines(d.client, id, fromSeq, toSeq),

    async cancel(id, by, remoteAddress) {
      const p = active.get(id);
      if (!p) return loadPull(d.client, id);
      if (!TERMINAL.has(p.record.state)) {
        command(p.record.node, { v: 1, type: 'cancel', pullId: id, expiresAt: now() + o.commandTtlMs });
        await finish(
          p,
          'cancelled',
          pullError('ET_ERR_PULL_CANCELLED', `by ${by ? actorLabel(by) : 'anonymous'}`),
          by,
          remoteAddress,
        );
      }
      return { ...p.record };
    },

    async handle(node, pullId, payload) {
      const decoded = codec.decode(payload, node, pullId);
      if (!decoded.ok) {
        c.badMessages++;
        d.logger.warn(
          { node, pullId, code: decoded.error.code, detail: decoded.error.detail },
          'pull message rejected',
        );
        return;
      }
      const m = decoded.value;
      if (m.type === 'chunk') c.chunksReceived++;
      const p = active.get(pullId);
      if (!p || p.record.node !== node || TERMINAL.has(p.record.state)) {
        if (m.type === 'chunk') c.chunksIgnored++;
        return;
      }
      if (p.record.state === 'queued') {
        p.record.state = 'running';
        p.record.startedAt = now();
        void persist(p);
      }
      try {
        if (m.type === 'chunk') await onChunk(p, m);
        else await onEnd(p, m);
      } catch (err) {
        d.logger.error({ pullId, err: (err as Error).message }, 'pull message not handled');
      }
    },

    counters: () => structuredClone(c),

    close() {
      clearInterval(ticker);
      for (const p of active.values()) notify(p);
    },
  };
}
