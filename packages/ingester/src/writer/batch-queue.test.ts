import { describe, expect, it } from 'vitest';
import { sampleBatch } from '../../../../test/support/batches.js';
import { batchToText } from '../storage/batch-text.js';
import { BATCH_TABLES } from '../storage/tables.js';
import { createBatchQueue } from './batch-queue.js';
import { claimBody, type Claim, type Member } from './claims.js';

const meta = { receivedAt: 0, wireBytes: 1000, ingesterId: 'test' };
type Queued = Member & Claim;
/** A queued batch as the writer makes it: its text and its claim body. */
const member = (node: string, seq: number): Queued => {
  const text = batchToText(sampleBatch({ node, seq, now: 1_800_000_000_000 }), meta);
  return { key: { node, epoch: 1, seq }, ...text, claim: claimBody(text) };
};
/** The most rows one sample batch has for a table: `n` batches of it make a full group at flushRows = n * this. */
const rowsPerBatch = Math.max(...BATCH_TABLES.map((t) => member('x', 1).rows[t]));
const names = (group: Member[]) => group.map((m) => `${m.key.node}/${m.key.seq}`);

describe('the writer queue', () => {
  it("takes a group a node at a time: every waiting node's oldest batch before any node's next", () => {
    const q = createBatchQueue<Queued>({ flushRows: 3 * rowsPerBatch, flushBytes: 1 << 30 });
    // One node's backlog arrives first (a reconnect), then two nodes' latest windows.
    for (let seq = 1; seq <= 4; seq++) q.add(member('backlog', seq));
    q.add(member('b', 7));
    q.add(member('c', 9));
    expect(names(q.takeGroup())).toEqual(['backlog/1', 'b/7', 'c/9']);
    expect(names(q.takeGroup())).toEqual(['backlog/2', 'backlog/3', 'backlog/4']);
    expect(q.pending.size).toBe(0);
    expect(q.inFlight.size).toBe(6);
  });

  it('serves a node that had a batch taken after the nodes still waiting for their first, group after group', () => {
    const q = createBatchQueue<Queued>({ flushRows: 2 * rowsPerBatch, flushBytes: 1 << 30 });
    for (const [node, seq] of [
      ['a', 1],
      ['a', 2],
      ['a', 3],
      ['b', 1],
      ['b', 2],
      ['c', 1],
    ] as const)
      q.add(member(node, seq));
    // c is not in the first group: the next starts with it, not again with a.
    expect(names(q.takeGroup())).toEqual(['a/1', 'b/1']);
    expect(names(q.takeGroup())).toEqual(['c/1', 'a/2']);
    q.add(member('d', 1));
    expect(names(q.takeGroup())).toEqual(['b/2', 'a/3']);
    expect(names(q.takeGroup())).toEqual(['d/1']);
    expect(q.takeGroup()).toEqual([]);
  });

  it("puts a batch back ahead of its node's later batches, in arrival order, and its node first when none of it waits", () => {
    const q = createBatchQueue<Queued>({ flushRows: 1 << 30, flushBytes: 1 << 30 });
    for (let seq = 1; seq <= 3; seq++) q.add(member('a', seq));
    q.add(member('b', 1));
    const taken = q.takeGroup();
    expect(names(taken)).toEqual(['a/1', 'b/1', 'a/2', 'a/3']);
    q.add(member('a', 4));
    q.add(member('c', 1));
    // Back in any order: a's keep theirs, ahead of a/4 that arrived after them; b goes first.
    for (const i of [3, 0, 1, 2]) q.putBack(taken[i]!);
    expect(names(q.takeGroup())).toEqual(['b/1', 'a/1', 'c/1', 'a/2', 'a/3', 'a/4']);
  });

  it('counts what is queued, waiting or in a flush, once, until it leaves the queue', () => {
    const q = createBatchQueue<Queued>({ flushRows: 1 << 30, flushBytes: 1 << 30 });
    const [a, b] = [member('a', 1), member('b', 1)];
    q.add(a);
    q.add(b);
    // Its text and its claim body, both held until it leaves.
    const held = (m: Queued) => m.bytes + m.claim.length;
    const both = { batches: 2, rows: a.rowCount + b.rowCount, bytes: held(a) + held(b) };
    expect(q.size()).toEqual(both);
    q.takeGroup();
    expect(q.size()).toEqual(both);
    q.putBack(a);
    q.remove(b);
    q.remove(b);
    expect(q.size()).toEqual({ batches: 1, rows: a.rowCount, bytes: held(a) });
    q.clear();
    expect(q.size()).toEqual({ batches: 0, rows: 0, bytes: 0 });
  });

  it('says when the waiting batches make a full group, counting only those not in a flush', () => {
    const q = createBatchQueue<Queued>({ flushRows: 2 * rowsPerBatch, flushBytes: 1 << 30 });
    const [a, b, c] = [member('a', 1), member('b', 1), member('c', 1)];
    q.add(a);
    expect(q.fullGroupWaiting()).toBe(false);
    q.add(b);
    expect(q.fullGroupWaiting()).toBe(true);
    expect(names(q.takeGroup())).toEqual(['a/1', 'b/1']);
    expect(q.fullGroupWaiting()).toBe(false);
    q.add(c);
    // Back from a flush, a batch counts as waiting again; out of the queue, it counts nowhere.
    q.putBack(a);
    expect(q.fullGroupWaiting()).toBe(true);
    q.remove(c);
    expect(q.fullGroupWaiting()).toBe(false);
    expect(q.get('b/1/1')).toBe(b);
    q.remove(b);
    expect(q.get('b/1/1')).toBeUndefined();
  });

  it('takes one batch even when it alone is past the bounds, and stops a group at the bytes bound', () => {
    const one = member('big', 1);
    const q = createBatchQueue<Queued>({ flushRows: 1, flushBytes: 1 << 30 });
    q.add(one);
    q.add(member('big', 2));
    expect(names(q.takeGroup())).toEqual(['big/1']);
    const byBytes = createBatchQueue<Queued>({ flushRows: 1 << 30, flushBytes: 2 * one.bytes + 1 });
    for (const node of ['x', 'y', 'z']) byBytes.add(member(node, 1));
    expect(byBytes.takeGroup()).toHaveLength(2);
    expect(byBytes.takeGroup()).toHaveLength(1);
  });
});
