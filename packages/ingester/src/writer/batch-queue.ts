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
 */
import { BATCH_TABLES } from '../storage/tables.js';
import { batchKeyString } from './batch-key.js';
import type { Member } from './claims.js';

export interface GroupBounds {
  flushRows: number;
  flushBytes: number;
}

/** Rows by table and characters of text of some batches. */
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

export interface BatchQueue<E extends Member> {
  /** Waiting for a flush. */
  readonly pending: ReadonlyMap<string, E>;
  /** In a flush. */
  readonly inFlight: ReadonlyMap<string, E>;
  /** The queued copy of the batch with this key string, waiting or in a flush. */
  get(key: string): E | undefined;
  add(e: E): void;
  /** Out of the queue (stored, refused or left), wherever it was. */
  remove(e: E): void;
  /** Back to waiting from a flush (its claim went before the flush could tell whose it is). */
  putBack(e: E): void;
  /** True when the waiting batches make a full group (a table at `flushRows`, or `flushBytes`). */
  fullGroupWaiting(): boolean;
  /** Moves a group from waiting to in flight, a node at a time, within the bounds (at least one batch). */
  takeGroup(): E[];
  clear(): void;
}

export function createBatchQueue<E extends Member>(bounds: GroupBounds): BatchQueue<E> {
  const pending = new Map<string, E>();
  const inFlight = new Map<string, E>();
  const waiting = new Tally();

  return {
    pending,
    inFlight,
    get: (k) => inFlight.get(k) ?? pending.get(k),
    add(e) {
      pending.set(batchKeyString(e.key), e);
      waiting.add(e, 1);
    },
    remove(e) {
      const k = batchKeyString(e.key);
      inFlight.delete(k);
      if (pending.delete(k)) waiting.add(e, -1);
    },
    putBack(e) {
      const k = batchKeyString(e.key);
      if (!inFlight.delete(k)) return;
      pending.set(k, e);
      waiting.add(e, 1);
    },
    fullGroupWaiting: () => waiting.full(bounds),
    takeGroup() {
      // Each node's waiting batches, oldest first; the nodes in the order of their oldest.
      const byNode = new Map<string, E[]>();
      for (const e of pending.values()) {
        const mine = byNode.get(e.key.node);
        if (mine) mine.push(e);
        else byNode.set(e.key.node, [e]);
      }
      const group: E[] = [];
      const taken = new Tally();
      let nodes = [...byNode.values()];
      for (let round = 0; nodes.length > 0; round++) {
        for (const mine of nodes) {
          const e = mine[round] as E;
          if (group.length > 0 && taken.over(e, bounds)) return group;
          const k = batchKeyString(e.key);
          pending.delete(k);
          inFlight.set(k, e);
          waiting.add(e, -1);
          taken.add(e, 1);
          group.push(e);
        }
        nodes = nodes.filter((mine) => mine.length > round + 1);
      }
      return group;
    },
    clear() {
      for (const e of pending.values()) waiting.add(e, -1);
      pending.clear();
      inFlight.clear();
    },
  };
}
