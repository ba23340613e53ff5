/**
 * The log-pull coordinator: turns a request into a `pull` command on the node's command topic,
 * stores the chunks that come back (each once), verifies the node's digest, and drives resume:
 * after the node's `end` it asks for missing chunks (`resend`); when a running pull stops making
 * progress (a cut, a restarted node) it sends `pull` with `fromChunk` past what it has, plus
 * `resend` for the gaps below, backing off while nothing comes.
 *
 * State lives in memory while a pull runs and in et_log_pulls on every transition, so any reader
 * (and a restarted ingester's API) can still see finished pulls.
 *
 * Several ingesters (a shared subscription) hand a pull's chunks and its `end` to any of them, so a
 * pull's state is kept in ClickHouse for all: the chunks in et_pulled_lines (read back once per
 * chunk and line, so one stored by two ingesters reads once), the state in et_log_pulls with its
 * owner. The owner (first the ingester that accepted it) holds a lease: it writes its state row at
 * least every third of `leaseMs` while the pull runs, and it alone drives expiry, stall and resume.
 * An ingester that gets a message of a pull it does not run follows the pull: it rebuilds the chunk
 * tracker from the stored chunks, stores what it receives, and on the node's `end` settles the pull
 * from ClickHouse (asks for the chunks missing everywhere, or checks the digest over the stored
 * lines and finishes it). When the owner's rows stop for `leaseMs` (it died), the first ingester
 * to notice, through a message of the pull or the scan of unfinished pulls every third of
 * `leaseMs`, takes it over and resumes it. An orderly stop does not make the others wait for the
 * lease: it writes its pulls' rows without an owner (handOver), which the next message or scan
 * anywhere takes over at once; and an ingester's scans take up the pulls whose rows name its own
 * id, left by its previous run (a crash and restart with the same client id). Two owners for a
 * moment (a slow heartbeat) send a command twice at worst; the older one gives the pull up at its
 * next heartbeat.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  createPullCodec,
  encodeCommand,
  PROTOCOL_VERSION,
  topics,
  type PullCommand,
  type PullCodec,
  type PullFilter,
  type PullMessage,
} from '@edge-telemetry/protocol';
import type { Logger } from '../logger.js';
import { IngesterError } from '../errors.js';
import type { NodeRegistry } from '../nodes/registry.js';
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
import { mayCancel } from './permissions.js';
import { chunkRows } from './line-rows.js';
import { createSharedReads } from './shared-reads.js';
import type { PullCoordinatorOptionsT } from './options.js';
import {
  loadChunkEnd,
  loadLines,
  loadChunkSizes,
  loadResumePoint,
  loadOpen,
  loadOrphans,
  loadPull,
  loadStoredSeqs,
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
  /** This ingester's id, the owner written in the state rows of the pulls it runs. */
  ingesterId: string;
  /** Which nodes exist and what they can do (their birth messages), to refuse pulls they cannot answer. */
  nodes: Pick<NodeRegistry, 'describe'>;
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
  /** Cancels refused because the caller neither requested the pull nor is an admin (each audited). */
  cancelsRefused: number;
  commandsPublished: Record<PullCommand['type'], number>;
  /**
   * Chunk messages received, and of those: stored, duplicates (already stored or pending), for unknown or finished pulls
   * (any message for one of those that is not an end's JSON, never decoded).
   */
  chunksReceived: number;
  chunksStored: number;
  chunksDuplicate: number;
  chunksIgnored: number;
  /** Messages for pulls not known here that were not looked up: their node was over its lookup budget. */
  lookupsRefused: number;
  badMessages: number;
  resumes: number;
  /** Pulls run by another ingester that this one followed (it got one of their messages). */
  followed: number;
  /** Pulls this one took over from an owner that stopped writing (died). */
  takeovers: number;
  /** Line streams with `follow` open now (each ends with its client, its pull, or close()). */
  followStreams: number;
}

export interface PullProgress {
  record: PullRecord;
  /** Chunks 0..contiguous-1 are stored and may be read. */
  contiguous: number;
  terminal: boolean;
}

export interface PullCoordinator {
  /**
   * Stores and sends a pull. Refuses, before anything is stored, with an IngesterError: a node
   * never heard of (ET_ERR_NODE_UNKNOWN), one that said it keeps no log store or does not read
   * this ingester's commands (ET_ERR_PULL_UNSUPPORTED), too many pulls queued or running for the
   * token or the node (ET_ERR_TOO_MANY_PULLS), a range that is empty once its end is clamped to now.
   */
  create(input: CreatePullInput): Promise<PullRecord>;
  /** Audits a refused request (bad input, no permission): every request is in the audit table. */
  refuse(input: Omit<CreatePullInput, 'filter'> & { filter: unknown; reason: string }): Promise<void>;
  get(id: string): Promise<PullRecord | undefined>;
  progress(id: string): Promise<PullProgress | undefined>;
  /** Resolves on the pull's next change, after `timeoutMs`, or when `signal` aborts. */
  changed(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** A follow stream opens: its signal aborts on close(); call end() when the stream ends. */
  follow(): { signal: AbortSignal; end(): void };
  /** Lines of chunks from `fromSeq`, whole chunks up to READ_BYTES of text before `toSeq`, and where the next read starts. */
  readLines(id: string, fromSeq: number, toSeq: number): Promise<{ lines: string[]; toSeq: number }>;
  /** Where line `from` is among the stored chunks 0..contiguous-1 (repository.ts, loadResumePoint). */
  resumePoint(id: string, from: number, contiguous: number): Promise<{ seq: number; skip: number }>;
  /**
   * Cancels a pull, here and on the node. Only the token that requested it, or an admin, may:
   * anyone else gets ET_ERR_PULL_NOT_REQUESTER (403), audited as a refused cancel.
   */
  cancel(id: string, by: Principal | undefined, remoteAddress: string): Promise<PullRecord | undefined>;
  /** A message from `et/v1/{node}/up/pull/{pullId}`. Never throws. */
  handle(node: string, pullId: string, payload: Buffer): Promise<void>;
  counters(): PullCounters;
  /** Stops the timers and ends the follow streams: all a killed process leaves behind. */
  close(): void;
  /**
   * An orderly stop: close(), and the pulls run here are written without an owner, so that another
   * ingester takes each over at its next scan or message of the pull instead of after `leaseMs`.
   */
  handOver(): Promise<void>;
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
  /**
   * Other ingesters may store chunks of it that this one does not see (it followed the pull, or
   * found chunks stored elsewhere): what is readable is then asked of ClickHouse. Apart from
   * reorderOverflow, which only memory sets: a running owned pull's readers stay in memory.
   */
  storedElsewhere: boolean;
  lastProgressAt: number;
  lastResumeAt: number;
  stallInterval: number;
  waiters: Set<() => void>;
  finishing: boolean;
  /** This ingester runs the pull (holds the lease); false while it only follows it. */
  owned: boolean;
  /** When its state row was last written here, and when ClickHouse was last asked about it. */
  lastWrittenAt: number;
  lastCheckAt: number;
  checking: boolean;
}

const TERMINAL: ReadonlySet<PullStateName> = new Set(['done', 'failed', 'expired', 'cancelled']);
const READBACK_CHUNKS = 64;
/**
 * Line text per read of stored chunks (the digest's read-back, the API's line streams): whole
 * chunks up to this, at least one. Each reader holds about this much at a time.
 */
const READ_BYTES = 1024 * 1024;
/** Raw line bytes per insert at most: large enough to amortise an insert, small enough not to hold readers up. */
const INSERT_BATCH_BYTES = 1024 * 1024;

/** ClickHouse reads of unknown pull ids a node may cause at once, then per second (takeLookup). */
export const LOOKUP_BURST = 10;
const LOOKUPS_PER_S = 2;
/** How long a pull looked up for a message answers the next messages of it. */
const LOOKUP_REUSE_MS = 1000;
const MAX_LOOKUPS = 1000;
const MAX_LOOKUP_BUDGETS = 100_000;
/**
 * How long a pull's progress read from ClickHouse serves every reader: each follow stream asks at
 * every chunk or second, and N streams of a pull this ingester does not run all of (a replica, a
 * followed pull) made N lookups over its stored lines a second, outside the API's read turns.
 */
const PROGRESS_REUSE_MS = 500;
const MAX_PROGRESS_READS = 1000;

export function createPullCoordinator(d: PullCoordinatorDeps): PullCoordinator {
  const o = d.options;
  const now = d.now ?? Date.now;
  const codec: PullCodec = createPullCodec();
  const active = new Map<string, Active>();
  const c: PullCounters = {
    created: 0,
    refused: 0,
    cancelsRefused: 0,
    commandsPublished: { pull: 0, cancel: 0, resend: 0 },
    chunksReceived: 0,
    chunksStored: 0,
    chunksDuplicate: 0,
    chunksIgnored: 0,
    lookupsRefused: 0,
    badMessages: 0,
    resumes: 0,
    followed: 0,
    takeovers: 0,
    followStreams: 0,
  };
  const follows = new Set<AbortController>();
  /** Pulls looked up for a message (not running here): a flood of chunks of one costs one query a second. */
  const lookups = createSharedReads<Promise<PullRecord | undefined>>({ reuseMs: LOOKUP_REUSE_MS, max: MAX_LOOKUPS });
  const lookupBudgets = new Map<string, { tokens: number; at: number }>();
  const progressReads = createSharedReads<Promise<PullProgress | undefined>>({
    reuseMs: PROGRESS_REUSE_MS,
    max: MAX_PROGRESS_READS,
  });
  /** Rows naming this ingester's id written by then are its previous run's (scan). */
  const startedAt = now();
  let lastScanAt = startedAt;
  /** Stopping: takes no pull over, and writes no heartbeat for those it gave up. */
  let closed = false;
  let queue: { p: Active; m: Extract<PullMessage, { type: 'chunk' }>; bytes: number }[] = [];
  let queuedBytes = 0;
  let flushing: Promise<void> | undefined;
  const ticker = setInterval(tick, Math.max(50, Math.min(1000, Math.floor(o.stallMs / 4))));
  ticker.unref();

  /**
   * Publishes without waiting for the broker's PUBACK: this runs inside the MQTT client's message
   * handler, which must return before the client reads that PUBACK (waiting would deadlock).
   */
  function command(node: string, cmd: PullCommand): void {
    c.commandsPublished[cmd.type]++;
    d.publish(topics.cmd(node), encodeCommand(cmd)).catch((err: Error) => {
      // The stall timer sends again; a first `pull` that never left is reported by the expiry.
      d.logger.warn({ node, pullId: cmd.pullId, type: cmd.type, err: err.message }, 'pull command not published');
    });
  }

  async function persist(p: Active): Promise<void> {
    const r = p.record;
    r.owner = d.ingesterId;
    p.lastWrittenAt = now();
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
    // A finished pull stays in memory for keepFinishedMs: without the text its digest no longer needs.
    releaseReorder(p, true);
    p.record.state = state;
    p.record.finishedAt = now();
    if (error) p.record.error = error;
    // A shared read taken while it ran would answer "running" for up to PROGRESS_REUSE_MS more:
    // the first reader after the end reads the end.
    progressReads.delete(p.record.id);
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

  /** Out-of-order text held for the running digests of all pulls together, within maxReorderBytes. */
  let reorderHeld = 0;

  /** Lets a pull's out-of-order text go; unless it finished, its digest is then finished from ClickHouse. */
  function releaseReorder(p: Active, finished: boolean): void {
    if (!finished) p.reorderOverflow = true;
    reorderHeld -= p.reorderBytes;
    p.reorder.clear();
    p.reorderBytes = 0;
  }

  function hashStored(p: Active, seq: number, lines: readonly string[]): void {
    const text = lines.join('\n') + '\n';
    if (seq === p.hashedUpTo && !p.reorderOverflow) {
      p.hash.update(text);
      p.hashedUpTo++;
      for (let next = p.reorder.get(p.hashedUpTo); next !== undefined; next = p.reorder.get(p.hashedUpTo)) {
        p.reorder.delete(p.hashedUpTo);
        p.reorderBytes -= next.length;
        reorderHeld -= next.length;
        p.hash.update(next);
        p.hashedUpTo++;
      }
    } else if (!p.reorderOverflow) {
      p.reorder.set(seq, text);
      p.reorderBytes += text.length;
      reorderHeld += text.length;
      // A bound for all pulls together: per pull, N pulls at once held N times it.
      if (reorderHeld > o.maxReorderBytes) releaseReorder(p, false);
    }
  }

  /**
   * A copy of the running hash, finished with the stored lines memory did not hash. On the running
   * hash itself, a read-back cut by an engine error (or run beside another) left its lines there
   * and the next one hashed them again: a correct pull failed with ET_ERR_PULL_DIGEST_MISMATCH
   * (digest-settle.test.ts). Each try starts from what memory hashed.
   */
  async function finalDigest(p: Active, total: number): Promise<string> {
    const hash = p.hash.copy();
    for (let s = p.hashedUpTo; s < total;) {
      const read = await loadLines(d.client, p.record.id, s, Math.min(total, s + READBACK_CHUNKS), READ_BYTES);
      if (read.lines.length > 0) hash.update(read.lines.join('\n') + '\n');
      s = read.toSeq;
    }
    return hash.digest('hex');
  }

  /**
   * Counts in the chunks other ingesters stored. Their text was not hashed here, so the digest is
   * then finished from ClickHouse. True when there were new ones.
   */
  async function refresh(p: Active): Promise<boolean> {
    const t = p.tracker;
    const r = p.record;
    const fresh = (await loadStoredSeqs(d.client, r.id)).filter((s) => !t.stored.has(s) && !t.pending.has(s));
    if (fresh.length === 0) return false;
    const sizes = await loadChunkSizes(d.client, r.id, fresh);
    for (const seq of fresh) {
      if (!admitChunk(t, seq)) continue;
      chunkStored(t, seq);
      r.linesReceived += sizes.get(seq)?.lines ?? 0;
      r.bytesReceived += sizes.get(seq)?.bytes ?? 0;
    }
    if (r.state === 'queued') {
      r.state = 'running';
      r.startedAt ??= now();
    }
    releaseReorder(p, false);
    p.storedElsewhere = true;
    p.lastProgressAt = now();
    notify(p);
    return true;
  }

  /** Ended done with its chunk count known: every chunk is stored, so the count is the answer, with no read. */
  function doneProgress(r: PullRecord): PullProgress | undefined {
    return r.state === 'done' && r.chunksExpected !== undefined
      ? { record: r, contiguous: r.chunksExpected, terminal: true }
      : undefined;
  }

  /**
   * What memory alone says of pull `p`, with no I/O: ended done with its count known, or running
   * here with every chunk seen. Undefined when only ClickHouse can say it.
   */
  function memoryProgress(p: Active): PullProgress | undefined {
    const r = { ...p.record };
    if (TERMINAL.has(r.state)) return doneProgress(r);
    return p.owned && !p.storedElsewhere ? { record: r, contiguous: p.tracker.contiguous, terminal: false } : undefined;
  }

  /** What ClickHouse holds of pull `id` (`p` its entry here, if any: the record is then memory's). */
  async function storedProgress(id: string, p: Active | undefined): Promise<PullProgress | undefined> {
    const r = p ? { ...p.record } : await loadPull(d.client, id);
    if (!r) return undefined;
    if (TERMINAL.has(r.state))
      // What is stored is all there will be (a gap reads as an empty stretch).
      return doneProgress(r) ?? { record: r, contiguous: await loadChunkEnd(d.client, id), terminal: true };
    const stored = new Set(await loadStoredSeqs(d.client, id));
    let contiguous = 0;
    while (stored.has(contiguous)) contiguous++;
    return { record: r, contiguous, terminal: false };
  }

  async function settle(p: Active): Promise<void> {
    const t = p.tracker;
    if (!p.endPending || t.pending.size > 0 || p.finishing || TERMINAL.has(p.record.state)) return;
    p.endPending = false;
    try {
      await refresh(p);
    } catch (err) {
      // The missing chunks are asked for from what is known here; the next `end` tries again.
      d.logger.warn({ pullId: p.record.id, err: (err as Error).message }, 'pull chunks stored elsewhere not read');
    }
    // Another `end` (a resume's pass, a resend asked by another ingester) settled it meanwhile, or
    // reads the digest back now: once is enough (a pull's lines may be gigabytes).
    if (p.finishing || TERMINAL.has(p.record.state)) return;
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

  /**
   * The running state of a pull: accepted here (owned, from its first chunk), or known from its
   * stored record (a pull accepted elsewhere: chunks stored before it came here were not hashed
   * here, so the digest is read back, and lines and bytes are counted again by refresh).
   */
  function newActive(record: PullRecord, accepted: boolean): Active {
    const t = now();
    return {
      record: accepted ? record : { ...record, filter: { ...record.filter }, linesReceived: 0, bytesReceived: 0 },
      tracker: createTracker(),
      endPending: false,
      hash: createHash('sha256'),
      hashedUpTo: 0,
      reorder: new Map(),
      reorderBytes: 0,
      reorderOverflow: !accepted,
      storedElsewhere: !accepted,
      lastProgressAt: t,
      lastResumeAt: t,
      stallInterval: o.stallMs,
      waiters: new Set(),
      finishing: false,
      owned: accepted,
      lastWrittenAt: 0,
      lastCheckAt: t,
      checking: false,
    };
  }

  /** Handed over (no owner), left by this ingester's previous run (its own id), or its owner silent for `leaseMs`. */
  const leaseGone = (r: PullRecord) =>
    r.owner === undefined || r.owner === d.ingesterId || now() - (r.updatedAt ?? 0) >= o.leaseMs;

  /** Gives the lease up: the row without an owner, which any ingester takes over at once. */
  async function release(p: Active): Promise<void> {
    // Not ours from here on, before the row is written: every caller gives the lease up with it.
    p.owned = false;
    const r = p.record;
    try {
      await savePull(d.client, { ...r, owner: undefined }, now());
      d.logger.info({ pullId: r.id, node: r.node }, 'log pull handed over');
    } catch (err) {
      d.logger.warn(
        { pullId: r.id, err: (err as Error).message },
        'pull not handed over; another ingester takes it over when its lease runs out',
      );
    }
  }

  /** Becomes the pull's owner. A pull still queued gets its command again: the dead owner may never have sent it. */
  async function takeOver(p: Active, from: string | undefined): Promise<void> {
    // Stopping: it stays with the ingesters that go on (a message or a scan already under way).
    if (closed) return;
    p.owned = true;
    c.takeovers++;
    // Resumed at the next tick: the node may be waiting for a resend nobody sends any more.
    p.lastProgressAt = Math.min(p.lastProgressAt, now() - o.stallMs);
    p.lastResumeAt = 0;
    const r = p.record;
    d.logger.info({ pullId: r.id, node: r.node, from }, 'log pull taken over');
    if (r.state === 'queued')
      command(r.node, { v: 1, type: 'pull', pullId: r.id, expiresAt: r.expiresAt, filter: r.filter, fromChunk: 0 });
    await persist(p);
  }

  /** Runs (or follows) a pull accepted elsewhere, with what ClickHouse holds of it. */
  async function adopt(record: PullRecord, owned: boolean): Promise<Active> {
    const p = newActive(record, false);
    await refresh(p);
    const raced = active.get(record.id);
    if (raced) return raced;
    active.set(record.id, p);
    if (owned) await takeOver(p, record.owner);
    else c.followed++;
    return p;
  }

  /**
   * The pull a message belongs to, when it runs elsewhere and is not finished (looked up once a
   * second), within the node's lookup budget: past it the message is taken for an unknown pull's
   * (a real pull's chunk is asked for again when its pull stalls).
   */
  async function lookup(node: string, id: string): Promise<PullRecord | undefined> {
    const t = now();
    const hit = lookups.get(id, t);
    if (hit) return hit;
    if (!takeLookup(node, t)) {
      c.lookupsRefused++;
      return undefined;
    }
    const record = loadPull(d.client, id);
    lookups.set(id, t, record);
    return record;
  }

  /**
   * One ClickHouse read of a node's lookup budget (a token bucket: LOOKUP_BURST, then
   * LOOKUPS_PER_S): a node's messages name its own pulls, a few at a time, while one sending random
   * ids made the ingester read for each (200 a second, its message quota), slowing every API call.
   */
  function takeLookup(node: string, t: number): boolean {
    const b = lookupBudgets.get(node) ?? { tokens: LOOKUP_BURST, at: t };
    b.tokens = Math.min(LOOKUP_BURST, b.tokens + ((t - b.at) * LOOKUPS_PER_S) / 1000);
    b.at = t;
    // Nodes are the broker's accounts, so the map is the fleet's size; the bound is a backstop.
    if (!lookupBudgets.has(node) && lookupBudgets.size >= MAX_LOOKUP_BUDGETS) lookupBudgets.clear();
    lookupBudgets.set(node, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  /**
   * The lease, against ClickHouse: the owner writes its heartbeat unless another took the pull over
   * (then it follows); a follower takes the pull over when the owner's rows stopped; both learn of a
   * pull finished elsewhere (a cancel through another ingester, an `end` settled there).
   */
  async function check(p: Active): Promise<void> {
    if (p.checking) return;
    p.checking = true;
    p.lastCheckAt = now();
    try {
      const r = await loadPull(d.client, p.record.id);
      if (r && TERMINAL.has(r.state)) {
        p.record = { ...r, filter: { ...r.filter } };
        notify(p);
      } else if (p.owned) {
        if (r?.owner !== undefined && r.owner !== d.ingesterId && (r.updatedAt ?? 0) > p.lastWrittenAt) p.owned = false;
        else {
          // The heartbeat carries what every ingester stored (and `running` once any chunk is in).
          await refresh(p);
          // Handed over meanwhile (an orderly stop): a heartbeat now would take the lease back.
          if (p.owned) await persist(p);
        }
      } else if (r && leaseGone(r)) await takeOver(p, r.owner);
    } catch (err) {
      d.logger.warn({ pullId: p.record.id, err: (err as Error).message }, 'pull state not read');
    } finally {
      p.checking = false;
    }
  }

  /** Takes over the pulls whose owner went silent and that no message brought here. */
  async function scan(): Promise<void> {
    lastScanAt = now();
    try {
      for (const r of await loadOrphans(d.client, now() - o.leaseMs, { id: d.ingesterId, since: startedAt }))
        if (!active.has(r.id)) await adopt(r, true);
    } catch (err) {
      d.logger.warn({ err: (err as Error).message }, 'orphaned pulls not read');
    }
  }

  /** Resumes a stalled pull unless chunks reached other ingesters meanwhile (that is progress). */
  async function resumeUnlessProgress(p: Active): Promise<void> {
    p.lastResumeAt = now();
    try {
      if (await refresh(p)) return;
    } catch (err) {
      d.logger.warn({ pullId: p.record.id, err: (err as Error).message }, 'pull chunks stored elsewhere not read');
    }
    resume(p);
  }

  function tick(): void {
    const t = now();
    // As often as the heartbeats: a pull handed over (or left by this id's previous run) waits for
    // one scan, and one whose owner died for its lease and one scan.
    if (t - lastScanAt >= o.leaseMs / 3) void scan();
    for (const [id, p] of active) {
      const r = p.record;
      if (TERMINAL.has(r.state)) {
        if (t - (r.finishedAt ?? t) >= o.keepFinishedMs) active.delete(id);
        continue;
      }
      if (t - p.lastCheckAt >= o.leaseMs / 3) void check(p);
      if (!p.owned) continue;
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
        void resumeUnlessProgress(p);
    }
  }

  /** Refusals that need no storage: the node and what it can do, the caps, the range. */
  async function admit(input: CreatePullInput, t: number): Promise<PullFilter> {
    const desc = await d.nodes.describe(input.node);
    if (!desc.known)
      throw new IngesterError('ET_ERR_NODE_UNKNOWN', `no node "${input.node}" ever sent a status or a batch here`);
    const caps = desc.capabilities;
    // A node that never said (a collector older than capabilities) is asked; one that said no is not.
    if (caps && !caps.logStore)
      throw new IngesterError(
        'ET_ERR_PULL_UNSUPPORTED',
        `${input.node} runs without a log store (store.enabled false)`,
      );
    if (caps && !caps.control.includes(PROTOCOL_VERSION))
      throw new IngesterError(
        'ET_ERR_PULL_UNSUPPORTED',
        `${input.node} reads command versions ${caps.control.join(', ')}; this ingester sends ${PROTOCOL_VERSION}`,
      );
    const who = input.actor ? actorLabel(input.actor) : 'anonymous';
    // Those stored by every ingester, with what this one knows newer (a finish not yet written).
    const open = new Map<string, { node: string; requestedBy: string }>();
    for (const r of await loadOpen(d.client, who, input.node, t)) open.set(r.id, r);
    for (const [id, p] of active)
      if (TERMINAL.has(p.record.state)) open.delete(id);
      else open.set(id, p.record);
    const pulls = [...open.values()];
    if (pulls.filter((p) => p.requestedBy === who).length >= o.maxActivePerToken)
      throw new IngesterError(
        'ET_ERR_TOO_MANY_PULLS',
        `${o.maxActivePerToken} pulls of this token are queued or running; wait for one to end or cancel one`,
      );
    if (pulls.filter((p) => p.node === input.node).length >= o.maxActivePerNode)
      throw new IngesterError(
        'ET_ERR_TOO_MANY_PULLS',
        `${o.maxActivePerNode} pulls for ${input.node} are queued or running; wait for one to end or cancel one`,
      );
    // A fixed end keeps the chunks the same when the node rebuilds them later (resume, resend);
    // never past now, which the node has no lines for yet.
    const until = Math.min(input.filter.until ?? t, t);
    if (until <= input.filter.since)
      throw new IngesterError(
        'ET_ERR_BAD_REQUEST',
        `nothing to pull: since ${new Date(input.filter.since).toISOString()} is not before ${new Date(until).toISOString()}`,
      );
    return { ...input.filter, until };
  }

  return {
    async create(input) {
      const t = now();
      const expiresIn = Math.min(o.maxExpiresInMs, input.expiresInMs ?? o.expiresInMs);
      const filter = await admit(input, t);
      const record: PullRecord = {
        // Hex, not base64url: one id in 64 began with '-', which a command line reads as an option
        // (`logs pull --id -x...` failed with "argument is ambiguous").
        id: randomBytes(12).toString('hex'),
        node: input.node,
        state: 'queued',
        filter,
        requestedBy: input.actor ? actorLabel(input.actor) : 'anonymous',
        createdAt: t,
        expiresAt: t + expiresIn,
        linesReceived: 0,
        bytesReceived: 0,
      };
      const p = newActive(record, true);
      active.set(record.id, p);
      c.created++;
      // Accepted while this ingester stops (its API closes last): stored handed over, like the rest.
      if (closed) await release(p);
      else await persist(p);
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

    progress(id) {
      const p = active.get(id);
      // Running here with every chunk seen, or ended done here: memory says it, now. Anything else
      // (an ended pull here that failed, was cancelled or expired too) is read from ClickHouse, once
      // for all readers within PROGRESS_REUSE_MS.
      const known = p && memoryProgress(p);
      if (known) return Promise.resolve(known);
      const at = now();
      const shared = progressReads.get(id, at);
      if (shared) return shared;
      const progress = storedProgress(id, p);
      progressReads.set(id, at, progress);
      return progress;
    },

    changed(id, timeoutMs, signal) {
      const p = active.get(id);
      // Running in another ingester: nothing tells this one of a change, so the caller polls.
      if (signal?.aborted || (p && TERMINAL.has(p.record.state))) return Promise.resolve();
      if (!p)
        return new Promise((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done(): void {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolve();
          }
          signal?.addEventListener('abort', done, { once: true });
        });
      return new Promise((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          p?.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        p.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },

    follow() {
      const ac = new AbortController();
      follows.add(ac);
      c.followStreams = follows.size;
      return {
        signal: ac.signal,
        end() {
          follows.delete(ac);
          c.followStreams = follows.size;
        },
      };
    },

    readLines: (id, fromSeq, toSeq) => loadLines(d.client, id, fromSeq, toSeq, READ_BYTES),

    resumePoint: (id, from, contiguous) => loadResumePoint(d.client, id, from, contiguous),

    async cancel(id, by, remoteAddress) {
      let p = active.get(id);
      const record = p?.record ?? (await loadPull(d.client, id));
      if (!record) return undefined;
      if (!mayCancel(by, record.requestedBy)) {
        c.cancelsRefused++;
        const err = new IngesterError(
          'ET_ERR_PULL_NOT_REQUESTER',
          `log pull ${id} was requested by ${record.requestedBy}`,
        );
        await audit({
          actor: by,
          action: 'cancel',
          outcome: 'refused',
          reason: err.message,
          node: record.node,
          pullId: id,
          remoteAddress,
        });
        throw err;
      }
      if (!p) {
        if (TERMINAL.has(record.state)) return record;
        // Running in another ingester: cancelled from here, the owner sees it at its next heartbeat.
        p = await adopt(record, false);
      }
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
      // The pull is found by the topic's node and id before anything is decompressed: a chunk of
      // 439 bytes may hold 4 MiB of lines (3 ms to decode), and a node naming pulls nobody asked
      // of it would have the ingester decode them at its message rate. An end is JSON ('{').
      const chunk = payload[0] !== 0x7b;
      if (chunk) c.chunksReceived++;
      let p = active.get(pullId);
      if (!p) {
        try {
          const r = await lookup(node, pullId);
          // Accepted by another ingester: followed here, or taken over when its owner went silent.
          if (r && r.node === node && !TERMINAL.has(r.state)) p = await adopt(r, leaseGone(r));
        } catch (err) {
          d.logger.warn({ pullId, err: (err as Error).message }, 'pull state not read; the message is asked for again');
        }
      }
      if (!p || p.record.node !== node || TERMINAL.has(p.record.state)) {
        if (chunk) c.chunksIgnored++;
        return;
      }
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
      if (p.record.state === 'queued' && p.owned) {
        p.record.state = 'running';
        p.record.startedAt = now();
        void persist(p);
      }
      const failed = (err: Error) => d.logger.error({ pullId, err: err.message }, 'pull message not handled');
      // A chunk waits only while the insert queue is over its bound (the backpressure); an end's
      // digest, state row and audit row are not waited for in the message path.
      if (m.type === 'chunk') await onChunk(p, m).catch(failed);
      else void onEnd(p, m).catch(failed);
    },

    counters: () => structuredClone(c),

    close,

    async handOver() {
      close();
      const mine = [...active.values()].filter((p) => p.owned && !TERMINAL.has(p.record.state));
      await Promise.all(mine.map(release));
    },
  };

  function close(): void {
    closed = true;
    clearInterval(ticker);
    // Open follow streams end now, so the HTTP server can close: they would wait for their pulls.
    for (const f of follows) f.abort();
    for (const p of active.values()) notify(p);
  }
}
