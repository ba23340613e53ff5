/**
 * Answers log-pull commands on the node: reads the full-log store with the pull's filters,
 * redacts, cuts numbered chunks (chunker.ts), and publishes them within the pull allowance, then
 * an `end` message with the totals and a digest.
 *
 * Resume is driven by the ingester: `pull` with `fromChunk` (re)starts a pull that is not running
 * here, `resend` lists chunks it lacks. Chunks are rebuilt from the store, never cached, a
 * running pull ignores a `pull` for itself, and a chunk asked for again before it left leaves
 * once, so this side publishes a chunk again only when asked after it left (MQTT's own QoS 1
 * retransmission of an unacknowledged publish aside, which the ingester deduplicates).
 * Every pass of a pull reads the store as it was at the pull's first pass (LogStore.pin()): lines
 * stored later with times inside the range (read late, from a backlog) would shift the chunks of
 * a resumed pass against those already sent, and the digest would fail the pull.
 */
import {
  LogLevel,
  createPullCodec,
  topics,
  type PullCommand,
  type PullCodec,
  type PullFilter,
} from '@edge-telemetry/protocol';
import type { LogQuery, StorePosition } from '../store/log-store.js';
import type { StoredLogRecord } from '../store/record-codec.js';
import type { Redactor, RedactionCounts } from '../transforms/redact/redactor.js';
import { createBudgetState, tryTake, type BudgetState } from '../uplink/budget/budget.js';
import type { Clock } from '../uplink/sender/clock.js';
import { chunkLines, emptyTotals } from './chunker.js';
import { formatPulledLine } from './line-format.js';
import type { PullOptions } from './options.js';

/** MQTT PUBLISH framing beyond payload and topic, as the uplink counts it. */
const PUBLISH_OVERHEAD = 9;
/** Finished or cancelled pulls remembered, so a late resend or a redelivered pull is answered right. */
const REMEMBERED_PULLS = 64;

/** What the responder needs of the uplink: publish ahead of the batch queue, and whether the link is up. */
export interface PullLink {
  publish(topic: string, payload: Buffer): Promise<void>;
  connected(): boolean;
}

export interface PullStore {
  query(q: LogQuery): AsyncIterable<StoredLogRecord>;
  /** The store's append position now (LogStore.pin()); without it every pass reads the store as it is. */
  pin?(): Promise<StorePosition>;
}

export interface PullResponderDeps {
  node: string;
  store: PullStore;
  link: PullLink;
  options: PullOptions;
  /** Undefined: lines leave as stored (options.redact false). */
  redactor: Redactor | undefined;
  clock: Clock;
  log?: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  /** Every chunk publish (tests count them; the production wiring may feed a metric). */
  onChunkPublished?: (pullId: string, seq: number, wireBytes: number) => void;
}

export interface PullResponderStats {
  active: number;
  pullsStarted: number;
  pullsFinished: number;
  pullsCancelled: number;
  commandsExpired: number;
  commandsIgnored: number;
  chunksPublished: number;
  bytesPublished: number;
  publishFailures: number;
  /** Times the in-flight window was given up (link lost, or no PUBACK within ackTimeoutMs). */
  windowsForgotten: number;
  redactions: RedactionCounts;
}

interface Inflight {
  at: number;
  acked: Promise<void>;
}

interface Run {
  filter: PullFilter;
  /** What the first pass read (undefined until it starts): later passes read the same lines. */
  pin: StorePosition | undefined;
  /** Chunks below this were published by this run (or are not this run's to publish). */
  nextSeq: number;
  resend: Set<number>;
  /** Chunks the running resend pass has still to publish (the one waiting for the window included). */
  upcoming: Set<number>;
  stopped: boolean;
}

export class PullResponder {
  private readonly runs = new Map<string, Run>();
  /** pullId -> filter and store position of pulls that ended here (bounded, oldest forgotten first). */
  private readonly known = new Map<string, { filter: PullFilter; pin: StorePosition | undefined }>();
  private readonly cancelled = new Set<string>();
  private readonly budget: BudgetState;
  private readonly codec: PullCodec;
  private readonly s: Omit<PullResponderStats, 'active'> = {
    pullsStarted: 0,
    pullsFinished: 0,
    pullsCancelled: 0,
    commandsExpired: 0,
    commandsIgnored: 0,
    chunksPublished: 0,
    bytesPublished: 0,
    publishFailures: 0,
    windowsForgotten: 0,
    redactions: {},
  };
  private closed = false;

  constructor(private readonly d: PullResponderDeps) {
    this.budget = createBudgetState(d.clock.now(), d.options.allowance);
    this.codec = createPullCodec({ level: d.options.compressionLevel });
  }

  /** Takes one command from the node's command topic. Never throws; the pull runs in the background. */
  handle(cmd: PullCommand): void {
    if (this.closed) return;
    if (cmd.expiresAt < this.d.clock.now()) {
      this.s.commandsExpired++;
      this.d.log?.('info', 'pull: ignored an expired command', {
        pullId: cmd.pullId,
        type: cmd.type,
        expiresAt: cmd.expiresAt,
      });
      return;
    }
    if (cmd.type === 'cancel') return this.cancel(cmd.pullId);
    if (this.cancelled.has(cmd.pullId)) return this.ignore(cmd, 'cancelled');
    const run = this.runs.get(cmd.pullId);
    const known = this.known.get(cmd.pullId);
    if (cmd.type === 'pull') {
      if (run) return this.ignore(cmd, 'already running');
      // A pull resumed here after its run ended (an ingester took it over) reads what its first pass read.
      this.start(cmd.pullId, {
        filter: cmd.filter,
        pin: known?.pin,
        nextSeq: cmd.fromChunk,
        resend: new Set(),
        upcoming: new Set(),
        stopped: false,
      });
      return;
    }
    if (run) {
      // Asked again before this run got to them (the ingester's stall timer fired during a slow
      // pass): they leave once, with this pass. Chunks already out go again: they may be lost.
      for (const c of cmd.chunks) if (c < run.nextSeq && !run.upcoming.has(c)) run.resend.add(c);
      return;
    }
    if (!known) return this.ignore(cmd, 'unknown pull (the ingester follows up with a pull command)');
    this.start(cmd.pullId, {
      ...known,
      nextSeq: Infinity,
      resend: new Set(cmd.chunks),
      upcoming: new Set(),
      stopped: false,
    });
  }

  stats(): PullResponderStats {
    return { ...this.s, redactions: { ...this.s.redactions }, active: this.runs.size };
  }

  /** Stops every running pull; the ingester resumes them with the node's next session. */
  close(): void {
    this.closed = true;
    for (const r of this.runs.values()) r.stopped = true;
  }

  private ignore(cmd: PullCommand, why: string): void {
    this.s.commandsIgnored++;
    this.d.log?.('info', 'pull: ignored a command', { pullId: cmd.pullId, type: cmd.type, why });
  }

  private cancel(pullId: string): void {
    this.remember(this.cancelled, pullId);
    const run = this.runs.get(pullId);
    if (!run) return;
    run.stopped = true;
    this.s.pullsCancelled++;
  }

  private remember(set: Set<string>, id: string): void {
    set.add(id);
    if (set.size > REMEMBERED_PULLS) set.delete(set.values().next().value as string);
  }

  private start(pullId: string, run: Run): void {
    this.runs.set(pullId, run);
    this.s.pullsStarted++;
    this.execute(pullId, run)
      .catch((err: Error) => {
        this.d.log?.('warn', 'pull: failed on the node', { pullId, err: err.message });
        this.publishEnd(
          pullId,
          { chunks: 0, lines: 0, bytes: 0, digest: '' },
          `ET_ERR_PULL_NODE: ${err.message}`.slice(0, 1000),
        );
      })
      .finally(() => {
        if (this.runs.get(pullId) === run) this.runs.delete(pullId);
        this.known.set(pullId, { filter: run.filter, pin: run.pin });
        if (this.known.size > REMEMBERED_PULLS) this.known.delete(this.known.keys().next().value as string);
        // A resend that came in after the last pass but before this point.
        if (!run.stopped && !this.closed && run.resend.size > 0)
          this.start(pullId, {
            filter: run.filter,
            pin: run.pin,
            nextSeq: Infinity,
            resend: new Set(run.resend),
            upcoming: new Set(),
            stopped: false,
          });
      });
  }

  /** One pass over the pull's lines, then further passes for chunks asked again meanwhile. */
  private async execute(pullId: string, run: Run): Promise<void> {
    const topic = topics.pull(this.d.node, pullId);
    const inflight: Inflight[] = [];
    let totals = emptyTotals();
    let first = true;
    run.pin ??= await this.d.store.pin?.();
    while (first || run.resend.size > 0) {
      const only = first ? undefined : new Set(run.resend);
      if (only) {
        run.resend.clear();
        run.upcoming = only;
      }
      totals = emptyTotals();
      for await (const chunk of chunkLines(
        this.lines(run.filter, run.pin),
        this.d.options.chunkBytes,
        run.filter.maxBytes,
        totals,
      )) {
        if (run.stopped) break;
        // A chunk asked for leaves its set once published, not before: an ask repeated while it
        // waits for the window is then already answered (handle()).
        const wanted = only ? only.has(chunk.seq) : chunk.seq >= run.nextSeq || run.resend.has(chunk.seq);
        if (!wanted) continue;
        const payload = this.codec.encode({
          v: 1,
          type: 'chunk',
          node: this.d.node,
          pullId,
          seq: chunk.seq,
          lines: chunk.lines,
        });
        const wire = payload.length + topic.length + PUBLISH_OVERHEAD;
        if (!(await this.admit(run, wire))) break;
        while (inflight.length >= this.d.options.window) await this.settleOldest(inflight);
        this.s.chunksPublished++;
        this.s.bytesPublished += wire;
        if (first) run.nextSeq = Math.max(run.nextSeq, chunk.seq + 1);
        (only ?? run.resend).delete(chunk.seq);
        this.d.onChunkPublished?.(pullId, chunk.seq, wire);
        inflight.push({
          at: this.d.clock.now(),
          acked: this.d.link.publish(topic, payload).catch(() => {
            // Not delivered: the ingester finds the gap after `end` and asks for it.
            this.s.publishFailures++;
          }),
        });
      }
      first = false;
      run.upcoming = new Set();
      if (run.stopped) break;
    }
    while (inflight.length > 0 && !run.stopped) await this.settleOldest(inflight);
    if (run.stopped) {
      if (this.cancelled.has(pullId)) this.publishEnd(pullId, totals, 'ET_ERR_PULL_CANCELLED: cancelled on request');
      return;
    }
    this.s.pullsFinished++;
    this.publishEnd(pullId, totals, undefined);
  }

  private async *lines(f: PullFilter, pin: StorePosition | undefined): AsyncGenerator<string> {
    const q: LogQuery = {
      before: pin,
      since: f.since,
      until: f.until,
      container: f.container,
      tail: f.tail,
      grep: f.grep,
      level: f.level === undefined ? undefined : LogLevel[f.level],
    };
    const redactor = this.d.redactor;
    if (redactor === undefined) {
      for await (const r of this.d.store.query(q)) yield formatPulledLine(r);
      return;
    }
    // The store holds lines unredacted: its grep would tell whether a secret holds what was asked
    // (a character at a time, one pull each). A redacting pull greps what it ships, and ships the
    // text its grep redacted: the store matches a segment's lines before it yields them, so each
    // matched line's text waits here until then. Not with `tail`, whose lines left out would wait
    // for ever: there the few lines kept are redacted again.
    const grep = f.grep;
    const matched = new Map<string, { text: string; counts: RedactionCounts }>();
    if (grep !== undefined)
      q.grep = (line) => {
        const counts: RedactionCounts = {};
        const text = redactor.redact(line, counts);
        if (!text.includes(grep)) return false;
        if (q.tail === undefined) matched.set(line, { text, counts });
        return true;
      };
    for await (const r of this.d.store.query(q)) {
      const m = matched.get(r.line);
      if (m === undefined) {
        yield formatPulledLine(r, redactor.redact(r.line, this.s.redactions));
        continue;
      }
      matched.delete(r.line);
      for (const [kind, n] of Object.entries(m.counts)) this.s.redactions[kind] = (this.s.redactions[kind] ?? 0) + n;
      yield formatPulledLine(r, m.text);
    }
  }

  /** Waits for the link and the pull allowance; false when the run was stopped meanwhile. */
  private async admit(run: Run, wire: number): Promise<boolean> {
    for (;;) {
      if (run.stopped || this.closed) return false;
      if (!this.d.link.connected()) {
        await this.sleep(this.d.options.reconnectPollMs);
        continue;
      }
      const wait = tryTake(this.budget, wire, this.d.clock.now(), this.d.options.allowance);
      if (wait === 0) return true;
      await this.sleep(wait);
    }
  }

  /**
   * Waits for the oldest publish to be acknowledged by the broker. A publish caught by a lost
   * connection may never settle (the MQTT client keeps it for a session that may be gone), so
   * while the link is down the window is forgotten: what did not arrive, the ingester asks for.
   */
  private async settleOldest(inflight: Inflight[]): Promise<void> {
    const oldest = inflight[0];
    if (!oldest) return;
    const settled = await Promise.race([
      oldest.acked.then(() => true),
      this.sleep(this.d.options.reconnectPollMs).then(() => false),
    ]);
    if (settled) inflight.shift();
    // mqtt.js drops the callbacks of publishes caught by a reconnect: after a disconnect (or a
    // reconnect too quick to see) nothing in the window is waited for any longer.
    else if (!this.d.link.connected() || this.d.clock.now() - oldest.at > this.d.options.ackTimeoutMs) {
      this.s.windowsForgotten++;
      inflight.length = 0;
    }
  }

  private publishEnd(
    pullId: string,
    t: { chunks: number; lines: number; bytes: number; digest: string },
    error: string | undefined,
  ): void {
    const end = this.codec.encode({
      v: 1,
      type: 'end',
      node: this.d.node,
      pullId,
      chunks: t.chunks,
      lines: t.lines,
      bytes: t.bytes,
      digest: t.digest,
      ...(error ? { error } : {}),
    });
    // Not awaited: after chunks in publish order, and if the link drops it may never settle;
    // a lost `end` is asked for again by the ingester's stall timer.
    this.d.link.publish(topics.pull(this.d.node, pullId), end).catch(() => {
      this.s.publishFailures++;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.d.clock.setTimer(resolve, ms));
  }
}
