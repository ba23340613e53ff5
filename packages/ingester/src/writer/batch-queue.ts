/**
 * The writer's queue: batches waiting for a flush and batches in one, with what the flush policy
 * reads (is a full group waiting?) and how a flush takes its group. No I/O: writer.ts decides when.
 *
 * A group is taken a node at a time (each node's oldest waiting batch, then each node's next, ...)
 * until one table reaches `flushRows` or the text reaches `flushBytes`. Oldest first across the
 * whole queue let a node that sent its backlog at once (a reconnect after an uplink outage: the
 * collector's sender window, 32 batches by default and 128 at most) fill the groups ahead of every
 * other node's latest window while the queue was deeper than a group; taken by node, each flush
 * carries every waiting node's oldest batch before anyone's second.
 *
 * Kept as a FIFO per node, the nodes in the order they are served next (a node served goes behind
 * the others), so a take costs the batches it takes: found afresh from all that waits, draining a
 * 20,000-batch queue in groups took a full scan and sort of it per group.
 */
import { BATCH_TABLES } from '../storage/tables.js';
import { batchKeyString } from './batch-key.js';
import type { Claim, Member } from './claims.js';

export interface GroupBounds {
  flushRows: number;
  flushBytes: number;
}

/** Rows by table and characters of text of some batches: what the group bounds are checked on. */
class Tally {
  bytes = 0;
  readonly rows = new Map<string, number>();

  add(e: Member, sign: 1 | -1): void {
    this.bytes += sign * e.bytes;
    for (const t of BATCH_TABLES) this.rows.set(t, (this.rows.get(t) ?? 0) + sign * e.rows[t]);
  }

  /** True when adding `e` would take a table past `flushRows` or the text past `flushBytes`. */
  over(e: Member, b: GroupBounds): boolean {
    return (
      this.bytes + e.bytes > b.flushBytes || BATCH_TABLES.some((t) => (this.rows.get(t) ?? 0) + e.rows[t] > b.flushRows)
    );
  }

  /** True when a table has `flushRows` or the text `flushBytes`: a full group. */
  full(b: GroupBounds): boolean {
    if (this.bytes >= b.flushBytes) return true;
    for (const n of this.rows.values()) if (n >= b.flushRows) return true;
    return false;
  }
}

export interface BatchQueue<E extends Member & Claim> {
  /** Waiting for a flush. */
  readonly pending: ReadonlyMap<string, E>;
  /** In a flush. */
  readonly inFlight: ReadonlyMap<string, E>;
  /**
   * Batches, data rows and bytes queued, waiting or in a flush: the writer's memory bound. The
   * bytes are each batch's text and its claim body (made at arrival, held until it leaves: 0.2 to
   * 0.45 of the text again on the test batches, which the bound did not see).
   */
  size(): { batches: number; rows: number; bytes: number };
  /** The queued copy of the batch with this key string, waiting or in a flush. */
  get(key: string): E | undefined;
  add(e: E): void;
  /** Out of the queue (stored, refused or left), wherever it was. */
  remove(e: E): void;
  /**
   * Back to waiting from a flush (its claim went before the flush could tell whose it is): ahead of
   * its node's batches that arrived after it, and its node first if none of them waits.
   */
  putBack(e: E): void;
  /** True when the waiting batches make a full group (a table at `flushRows`, or `flushBytes`). */
  fullGroupWaiting(): boolean;
  /** Moves a group from waiting to in flight, a node at a time, within the bounds (at least one batch). */
  takeGroup(): E[];
  clear(): void;
}

/** A queued batch and its place in arrival order (a batch put back keeps its place). */
interface Slot<E> {
  e: E;
  arrival: number;
}

export function createBatchQueue<E extends Member & Claim>(bounds: GroupBounds): BatchQueue<E> {
  const pending = new Map<string, E>();
  const inFlight = new Map<string, E>();
  /** Each node's waiting batches in arrival order; the nodes in the order they are served next. */
  const byNode = new Map<string, Slot<E>[]>();
  /** Every queued batch's slot, waiting or in a flush, by key string: where a batch put back finds its place. */
  const slots = new Map<string, Slot<E>>();
  let arrived = 0;
  let waiting = new Tally();
  /** Data rows and bytes (text and claim body) queued, waiting or in a flush (no per-table rows: no bound reads them). */
  let queuedRows = 0;
  let queuedBytes = 0;

  function count(e: E, sign: 1 | -1): void {
    queuedRows += sign * e.rowCount;
    queuedBytes += sign * (e.bytes + e.claim.length);
  }

  /** Takes `e` off its node's FIFO (it is there: it waits). */
  function unlink(e: E): void {
    const mine = byNode.get(e.key.node);
    if (!mine) return;
    const at = mine.findIndex((s) => s.e === e);
    if (at >= 0) mine.splice(at, 1);
    if (mine.length === 0) byNode.delete(e.key.node);
  }

  function toFlight(k: string, e: E): void {
    pending.delete(k);
    inFlight.set(k, e);
    waiting.add(e, -1);
  }

  return {
    pending,
    inFlight,
    size: () => ({ batches: pending.size + inFlight.size, rows: queuedRows, bytes: queuedBytes }),
    get: (k) => inFlight.get(k) ?? pending.get(k),
    add(e) {
      const k = batchKeyString(e.key);
      const slot = { e, arrival: arrived++ };
      pending.set(k, e);
      slots.set(k, slot);
      const mine = byNode.get(e.key.node);
      if (mine) mine.push(slot);
      else byNode.set(e.key.node, [slot]);
      waiting.add(e, 1);
      count(e, 1);
    },
    remove(e) {
      const k = batchKeyString(e.key);
      if (!slots.delete(k)) return;
      count(e, -1);
      inFlight.delete(k);
      if (!pending.delete(k)) return;
      waiting.add(e, -1);
      unlink(e);
    },
    putBack(e) {
      const k = batchKeyString(e.key);
      if (!inFlight.delete(k)) return;
      pending.set(k, e);
      waiting.add(e, 1);
      const slot = slots.get(k) as Slot<E>;
      const mine = byNode.get(e.key.node);
      if (!mine) {
        // Its node first: nothing of it waits, and this batch has waited longer than any that does.
        const rest = [...byNode];
        byNode.clear();
        byNode.set(e.key.node, [slot]);
        for (const [node, slots] of rest) byNode.set(node, slots);
        return;
      }
      const at = mine.findIndex((s) => s.arrival > slot.arrival);
      mine.splice(at < 0 ? mine.length : at, 0, slot);
    },
    fullGroupWaiting: () => waiting.full(bounds),
    takeGroup() {
      const group: E[] = [];
      const taken = new Tally();
      for (let next = byNode.entries().next(); !next.done; next = byNode.entries().next()) {
        const [node, mine] = next.value;
        const { e } = mine[0] as Slot<E>;
        if (group.length > 0 && taken.over(e, bounds)) break;
        mine.shift();
        // Behind every other waiting node: each node's next batch after every node's oldest.
        byNode.delete(node);
        if (mine.length > 0) byNode.set(node, mine);
        toFlight(batchKeyString(e.key), e);
        taken.add(e, 1);
        group.push(e);
      }
      return group;
    },
    clear() {
      waiting = new Tally();
      queuedRows = 0;
      queuedBytes = 0;
      pending.clear();
      inFlight.clear();
      byNode.clear();
      slots.clear();
    },
  };
}
