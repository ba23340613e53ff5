/**
 * Coalesces decoded batches from many nodes into large inserts per table and tells each batch's
 * submitter when ClickHouse has accepted all of its rows.
 *
 * Order inside one flush: claim the group's batches, then read where each stands in the ledger
 * and the claims (batches stored are answered at once; batches another group claimed first are
 * stored by finishing that group) and keep those this claim won (claims.ts: how several ingesters
 * store a batch once), insert the data tables side by side with one deduplication token for the group, and the
 * ledger rows once they are all in. A batch in the ledger therefore has all its rows stored. A
 * failed insert is retried with the same token, so ClickHouse drops a part it already has. An
 * insert ClickHouse refuses for its rows (storage-errors.ts) is not retried as is: that table's
 * rows are split in halves, each under its own token, down to the batch that causes it, which
 * gets no ledger row and whose submitter gets ET_ERR_STORAGE_REJECTED.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Batch } from '@edge-telemetry/protocol';
import type { WriterConfig } from './options.js';
import { IngesterError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BatchMeta } from '../storage/rows.js';
import { batchToText } from '../storage/batch-text.js';
import { BATCH_TABLES, type BatchTable } from '../storage/tables.js';
import { insertText } from '../storage/insert.js';
import { batchKeyString, groupToken, type BatchKey } from './batch-key.js';
import {
  claimBody,
  insertClaims,
  insertRefusals,
  keyStates,
  ownedBy,
  type Claim,
  type KeyState,
  type Member,
  type Unreadable,
} from './claims.js';
import { isRowError } from './storage-errors.js';
import { createBatchQueue } from './batch-queue.js';

export type SubmitOutcome = 'stored' | 'duplicate';

export interface WriterState {
  queuedBatches: number;
  queuedRows: number;
  queuedBytes: number;
  /** True while the consumer must not take more messages (queue full or ClickHouse failing). */
  backpressured: boolean;
  /** True while inserts fail and are being retried. */
  failing: boolean;
  consecutiveFailures: number;
  lastError?: string;
  batchesStored: number;
  batchesDuplicate: number;
  rowsInserted: number;
  inserts: number;
  insertFailures: number;
  /** Batches whose rows ClickHouse refused (ET_ERR_STORAGE_REJECTED). */
  batchesRefused: number;
  /** Claim bodies of other groups this version could not read (ET_ERR_CLAIM_UNREADABLE). */
  claimsUnreadable: number;
}

export interface Writer {
  /** Queues a batch; resolves once its rows are in ClickHouse (or it already was). */
  submit(batch: Batch, meta: BatchMeta): Promise<SubmitOutcome>;
  /**
   * Resolves when the queue has room and ClickHouse is accepting inserts. `submit` rejects with
   * ET_ERR_STORAGE_REJECTED when ClickHouse refuses the batch's rows, ET_ERR_CLAIM_UNREADABLE when
   * another group claimed it first in a claim this version cannot read (not stored here: the node
   * sends it again), ET_ERR_WRITER_CLOSED when the writer stopped first.
   */
  waitForRoom(): Promise<void>;
  state(): WriterState;
  /** Flushes what is queued (retrying while ClickHouse fails, up to `timeoutMs`), then stops. */
  close(timeoutMs?: number): Promise<void>;
  /** Stops at once: timers cleared, queued batches rejected (they were never acknowledged). */
  abort(): void;
}

/**
 * A queued batch. Its claim body is made when it arrives (deflating its texts): while a flush waits
 * on ClickHouse, not in series at the start of the next flush, whose claims insert is the first of
 * its statements (issue 21), nor again on each retry of that insert.
 */
interface Entry extends Member, Claim {
  promise: Promise<SubmitOutcome>;
  resolve: (o: SubmitOutcome) => void;
  reject: (e: Error) => void;
}

/** A batch whose rows ClickHouse refused for one table, and its answer. */
interface Refused {
  key: BatchKey;
  table: BatchTable;
  err: Error;
}

/** The tables a group's rows go to before its ledger rows. */
const DATA_TABLES = BATCH_TABLES.filter((t) => t !== 'ledger');

export interface WriterDeps {
  client: ClickHouseClient;
  options: WriterConfig;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createWriter(deps: WriterDeps): Writer {
  const { client, options: o, logger } = deps;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;

  const queue = createBatchQueue<Entry>(o);
  const { pending } = queue;
  const waiters: (() => void)[] = [];
  const st = {
    failing: false,
    consecutiveFailures: 0,
    lastError: undefined as string | undefined,
    batchesStored: 0,
    batchesDuplicate: 0,
    rowsInserted: 0,
    inserts: 0,
    insertFailures: 0,
    batchesRefused: 0,
    claimsUnreadable: 0,
  };
  let timer: NodeJS.Timeout | undefined;
  let lastFlushAt = -Infinity;
  /** Calls that failed and are being retried now. */
  let retrying = 0;
  /** Flush loops running now (flushLoop), at most `concurrentFlushes`. */
  let running = 0;
  /** Told when the last running flush loop ends (close). */
  const idle: (() => void)[] = [];
  let closed = false;
  let aborted = false;

  const full = () => {
    const q = queue.size();
    return q.batches >= o.maxQueueBatches || q.bytes >= o.maxQueueBytes;
  };
  const backpressured = () => full() || st.failing;

  function wakeWaiters(): void {
    if (backpressured()) return;
    for (const w of waiters.splice(0)) w();
  }

  /**
   * Group commit: when no flush runs, the next starts at once, or `flushIntervalMs` after the last
   * one started if that is later (the bound on this ingester's inserts per table: 4 a second at the
   * default 250 ms; issue 21: at 1 s, a batch that arrived just after a short flush waited up to a
   * second for the next). While a flush runs, the batches that arrive wait for it and go in its
   * next group, which takes everything waiting up to the bounds when it ends (or the interval
   * does: flushLoop); a further flush starts beside the running ones
   * (up to `concurrentFlushes`) only for a full group (a table at `flushRows`, or `flushBytes`).
   * Issue 21: a flush costs ClickHouse about ten statements whatever its size (a claims insert and
   * read, an insert per data table, the ledger), and a burst (a fleet's window end, a broker
   * restart, a fleet reconnecting after an uplink outage) was cut into many small groups when each
   * that arrived during a flush started one of its own beside it: more statements and parts for
   * the same rows, under the load where the engine had the least to spare. The timer is a
   * macrotask even at 0 ms, so the batches submitted in one turn (one socket read) share a flush.
   */
  function schedule(): void {
    if (aborted || pending.size === 0 || running >= o.concurrentFlushes) return;
    if (queue.fullGroupWaiting() || closed) {
      startFlush();
      return;
    }
    if (running > 0) return;
    timer ??= setTimeout(
      () => {
        timer = undefined;
        startFlush();
      },
      Math.max(0, lastFlushAt + o.flushIntervalMs - now()),
    );
  }

  function startFlush(): void {
    if (aborted || pending.size === 0 || running >= o.concurrentFlushes) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    running++;
    void flushLoop();
  }

  const release = (e: Entry) => queue.remove(e);

  /** The queued batch with this key, if any (a copy may be queued while another group stores it). */
  function queued(key: BatchKey): Entry | undefined {
    return queue.get(batchKeyString(key));
  }

  /** Answers the queued copy of a batch that is now in ClickHouse. */
  function settle(key: BatchKey, outcome: SubmitOutcome): void {
    const e = queued(key);
    if (!e) return;
    release(e);
    if (outcome === 'stored') st.batchesStored++;
    else st.batchesDuplicate++;
    e.resolve(outcome);
  }

  /**
   * A call that had failed got its answer (ClickHouse accepted or refused the rows). The writer
   * stays `failing` while any call is still being retried: a flush's inserts run side by side, and
   * one table's success says nothing of another's failure.
   */
  function recovered(): void {
    if (--retrying > 0) return;
    logger.info({ after: st.consecutiveFailures }, 'ClickHouse accepts inserts again');
    st.failing = false;
    st.consecutiveFailures = 0;
    wakeWaiters();
  }

  /**
   * Runs until ClickHouse took the call, retrying with backoff (the caller keeps the token); a
   * refusal of the rows themselves comes back as `refused`. Undefined once aborted.
   */
  async function withRetry<T>(
    what: string,
    fn: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; refused: Error } | undefined> {
    // The backoff is this call's own: a shared count would double the delay once per insert of
    // the flush that failed in the same outage.
    for (let attempt = 1; ; attempt++) {
      if (aborted) return undefined;
      try {
        const value = await fn();
        if (attempt > 1) recovered();
        return { ok: true, value };
      } catch (err) {
        st.insertFailures++;
        st.lastError = (err as Error).message;
        if (isRowError(err)) {
          if (attempt > 1) recovered();
          return { ok: false, refused: err as Error };
        }
        if (attempt === 1) retrying++;
        st.consecutiveFailures++;
        st.failing = true;
        const delay = Math.min(o.retryMaxMs, o.retryMinMs * 2 ** Math.min(attempt - 1, 20));
        logger.warn(
          {
            code: 'ET_ERR_STORAGE_UNAVAILABLE',
            what,
            attempt,
            retryInMs: delay,
            err: st.lastError,
          },
          'ClickHouse failed; retrying',
        );
        await sleep(delay);
      }
    }
  }

  /**
   * Inserts `table`'s rows of the group under the group's token. When ClickHouse refuses them,
   * each half of the group goes on under its own token, until the refused batch stands alone.
   * Returns the batches refused, with why; undefined once aborted.
   */
  async function insertTable(
    group: readonly Member[],
    table: BatchTable,
    token = groupToken(group.map((e) => e.key)),
  ): Promise<Refused[] | undefined> {
    const chunks = group.filter((e) => e.rows[table] > 0).map((e) => e.text[table]);
    if (chunks.length === 0) return [];
    const step = await withRetry(`insert ${table}`, () => insertText(client, table, chunks, token));
    if (step === undefined) return undefined;
    if (step.ok) {
      if (table !== 'ledger') st.rowsInserted += group.reduce((n, e) => n + e.rows[table], 0);
      return [];
    }
    if (group.length === 1) return [{ key: group[0]!.key, table, err: step.refused }];
    const half = Math.ceil(group.length / 2);
    const [first, second] = await Promise.all([
      insertTable(group.slice(0, half), table),
      insertTable(group.slice(half), table),
    ]);
    return first && second && [...first, ...second];
  }

  /**
   * Stores a group: its data tables side by side (one insert each, under the group's token; they
   * do not depend on one another, and one round trip instead of eight is most of a flush's time),
   * then, once every one is in, the ledger rows of the batches none refused. A batch in the ledger
   * therefore has all its rows stored. What a group stores is decided by its rows alone (a refusal
   * is), so a retry, or another ingester finishing the group from its claims, makes the same
   * inserts under the same tokens and ClickHouse drops those it has. The refused batches are marked
   * under the group's claim token (`claim`) before the ledger rows, so that a finisher that finds
   * only them left knows the group ended (claims.ts insertRefusals). False once aborted.
   */
  async function storeGroup(group: readonly Member[], outcome: SubmitOutcome, claim: string): Promise<boolean> {
    // One token for the group's data tables: a sha256 over its keys, not one per table.
    const token = groupToken(group.map((e) => e.key));
    const refusals = await Promise.all(DATA_TABLES.map((t) => insertTable(group, t, token)));
    if (refusals.some((r) => r === undefined)) return false;
    const refused = new Map<string, Refused>();
    for (const r of refusals.flat())
      if (r && !refused.has(batchKeyString(r.key))) refused.set(batchKeyString(r.key), r);
    const keys = [...refused.values()].map((r) => r.key);
    if (
      keys.length > 0 &&
      (await withRetry('mark refusals', () => insertRefusals(client, claim, keys, now()))) === undefined
    )
      return false;
    const rest = group.filter((e) => !refused.has(batchKeyString(e.key)));
    const ledger = rest.length > 0 ? await insertTable(rest, 'ledger') : [];
    if (ledger === undefined) return false;
    for (const r of [...refused.values(), ...ledger]) refuse(r.key, r.table, r.err);
    st.inserts++;
    const ledgerRefused = new Set(ledger.map((r) => batchKeyString(r.key)));
    for (const e of rest) if (!ledgerRefused.has(batchKeyString(e.key))) settle(e.key, outcome);
    return true;
  }

  function refuse(key: BatchKey, table: string, err: Error): void {
    const e = queued(key);
    if (!e) return;
    release(e);
    st.batchesRefused++;
    logger.error(
      {
        code: 'ET_ERR_STORAGE_REJECTED',
        node: e.key.node,
        epoch: e.key.epoch,
        seq: e.key.seq,
        table,
        err: err.message,
      },
      'ClickHouse refused the rows of a batch',
    );
    e.reject(new IngesterError('ET_ERR_STORAGE_REJECTED', `${table}: ${err.message}`.slice(0, 4096)));
  }

  /** Where the keys stand (stored, or claimed first by which group); undefined once aborted. */
  async function states(keys: readonly BatchKey[], what: string): Promise<KeyState | undefined> {
    const r = await withRetry(what, () => keyStates(client, keys));
    if (r === undefined) return undefined;
    // A lookup refused for its keys cannot happen (they match the protocol's patterns); were it
    // to, the batches are inserted as if none were stored: a duplicate row is the lesser harm next
    // to acknowledging a batch that was never stored.
    return r.ok ? r.value : { stored: new Set(), owner: new Map() };
  }

  /**
   * Stores the batches among `group` that another group claimed first, by finishing each such
   * group from its claims (its own tokens, so what it already inserted is dropped as a duplicate),
   * and answers their queued copies here. Returns the rest; undefined once aborted.
   */
  async function finishOthers(
    group: readonly Entry[],
    owner: ReadonlyMap<string, string>,
  ): Promise<Entry[] | undefined> {
    const others = new Set(group.flatMap((e) => owner.get(batchKeyString(e.key)) ?? []));
    for (const token of others) {
      const read = await withRetry('read claims', () => ownedBy(client, token));
      if (read === undefined) return undefined;
      if (!read.ok) continue;
      const { members, unreadable, refusedAll } = read.value;
      if (unreadable.length > 0) leave(token, unreadable, group, owner);
      // That group ended and refused what is left of it: refused here too, stored nowhere again.
      else if (refusedAll) for (const m of members) refuse(m.key, 'group', new Error(`refused by its group ${token}`));
      else if (!(await storeGroup(members, 'duplicate', token))) return undefined;
    }
    const rest: Entry[] = [];
    for (const e of group) {
      const k = batchKeyString(e.key);
      if (!owner.has(k)) rest.push(e);
      // Its claim went (past the claims' TTL) between the two reads: the next flush decides again.
      else if (queued(e.key) === e) queue.putBack(e);
    }
    return rest;
  }

  /**
   * Group `token` has claims this version cannot read (a later version's, ingester README, "Several
   * ingesters store a batch once"): it is left to an ingester that can read them. Finishing only
   * the members read would store them under another token than the group's, beside rows its owner
   * may have inserted already, so twice. The copies queued here of its batches are answered
   * ET_ERR_CLAIM_UNREADABLE: not acknowledged, the node sends them again, and the rest of the flush
   * goes on.
   */
  function leave(
    token: string,
    unreadable: readonly Unreadable[],
    group: readonly Entry[],
    owner: ReadonlyMap<string, string>,
  ): void {
    st.claimsUnreadable += unreadable.length;
    const left = group.filter((e) => owner.get(batchKeyString(e.key)) === token && queued(e.key) === e);
    for (const u of unreadable)
      logger.error(
        { code: 'ET_ERR_CLAIM_UNREADABLE', ...u.key, group: token, err: u.reason, left: left.length },
        "a claim this ingester cannot read: its group is left to one that can, its batches' copies here not acknowledged",
      );
    for (const e of left) {
      release(e);
      e.reject(new IngesterError('ET_ERR_CLAIM_UNREADABLE', `group ${token}: ${unreadable[0]!.reason}`));
    }
  }

  /**
   * Claims the group's batches, reads where each stands, answers those stored already, finishes the
   * groups that claimed the others first, and stores the rest. The claim comes first, with no
   * lookup before it: the one read after the claim says both what is stored and who owns the rest,
   * and a read before it cost every flush a statement in series (issue 21: a flush was five
   * statements one after the other, the most of a batch's wait under a window-end burst). A batch
   * stored already is claimed for nothing: the claim check answers it as before. False once aborted.
   */
  async function flushGroup(taken: Entry[]): Promise<boolean> {
    const keys = taken.map((e) => e.key);
    const token = groupToken(keys);
    if ((await withRetry('claim', () => insertClaims(client, token, taken, now()))) === undefined) return false;
    const after = await states(keys, 'claim check');
    if (after === undefined) return false;
    for (const e of taken) if (after.stored.has(batchKeyString(e.key))) settle(e.key, 'duplicate');
    // Copies another group claimed first: that group stores them.
    const lost = new Map([...after.owner].filter(([, t]) => t !== token));
    const group = await finishOthers(
      taken.filter((e) => !after.stored.has(batchKeyString(e.key))),
      lost,
    );
    return group !== undefined && (group.length === 0 || storeGroup(group, 'stored', token));
  }

  /**
   * Flushes group after group while batches wait (startFlush saw some); beside another running
   * flush only while a full group waits (schedule), else the loop ends and the last one to end hands
   * what waits to schedule(), the one place that spaces flushes by `flushIntervalMs` (from the last
   * flush started, this loop's or another's), so that back-to-back flushes keep the bound on
   * inserts too (a full group, or a close, goes on at once: its inserts are as large as they get).
   */
  async function flushLoop(): Promise<void> {
    try {
      let more = true;
      while (more) {
        lastFlushAt = now();
        if (!(await flushGroup(queue.takeGroup()))) return;
        wakeWaiters();
        more = pending.size > 0 && !aborted && (closed || queue.fullGroupWaiting());
      }
    } finally {
      // In the step that decided to stop (as storage/group-commit.ts run()): a loop that left what
      // waits to another running one is no longer counted when that one decides, so the last loop
      // running always sees itself alone and hands it to schedule(): now, or when the interval has passed.
      if (--running === 0) {
        for (const r of idle.splice(0)) r();
        schedule();
      }
    }
  }

  return {
    submit(batch, meta) {
      if (closed || aborted) return Promise.reject(new IngesterError('ET_ERR_WRITER_CLOSED', 'submit after close'));
      const key = { node: batch.node, epoch: batch.epoch, seq: batch.seq };
      const ks = batchKeyString(key);
      // A redelivery while the first copy is still queued shares its fate.
      const same = queue.get(ks);
      if (same) return same.promise.then(() => 'duplicate' as const);
      const encoded = batchToText(batch, meta);
      let resolve!: (o: SubmitOutcome) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<SubmitOutcome>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      queue.add({ ...encoded, key, claim: claimBody(encoded), promise, resolve, reject });
      schedule();
      return promise;
    },
    waitForRoom() {
      if (!backpressured() || aborted) return Promise.resolve();
      return new Promise<void>((r) => waiters.push(r));
    },
    state() {
      const q = queue.size();
      return {
        queuedBatches: q.batches,
        queuedRows: q.rows,
        queuedBytes: q.bytes,
        backpressured: backpressured(),
        ...st,
      };
    },
    async close(timeoutMs = 10_000) {
      closed = true;
      startFlush();
      const done = (async () => {
        while (running > 0 || pending.size > 0) {
          if (running > 0) await new Promise<void>((r) => idle.push(r));
          else startFlush();
        }
      })();
      let t: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((r) => (t = setTimeout(() => r(true), timeoutMs))),
      ]);
      clearTimeout(t);
      if (expired) this.abort();
    },
    abort() {
      aborted = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const err = new IngesterError('ET_ERR_WRITER_CLOSED', 'writer stopped before the batch was stored');
      for (const e of [...pending.values(), ...queue.inFlight.values()]) {
        e.promise.catch(() => undefined);
        e.reject(err);
      }
      queue.clear();
      for (const w of waiters.splice(0)) w();
    },
  };
}
