import { describe, expect, it } from 'vitest';
import { createNodeLanes } from './node-lanes.js';

/** A promise with its resolve at hand. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lanes whose every node may take all of them. */
const bounds = (maxMessages: number, maxBytes: number) => ({
  maxMessages,
  maxBytes,
  maxNodeMessages: maxMessages,
  maxNodeBytes: maxBytes,
  onError: () => {},
});

/** Lets every queued callback run (nothing here waits on a timer). */
const settle = () => new Promise((r) => setImmediate(r));

describe('node lanes', () => {
  it("runs each node's messages in arrival order and different nodes' side by side", async () => {
    const lanes = createNodeLanes(bounds(100, 1 << 20));
    const log: string[] = [];
    const a1 = gate();
    await lanes.admit('a', 1, async () => {
      log.push('a1 start');
      await a1.promise;
      log.push('a1 end');
    });
    await lanes.admit('a', 1, async () => void log.push('a2'));
    await lanes.admit('b', 1, async () => void log.push('b1'));
    await settle();
    // b went on while a's first message waited; a's second waits behind it.
    expect(log).toEqual(['a1 start', 'b1']);
    a1.open();
    await lanes.drain();
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('admits no more than maxMessages (or maxBytes) unfinished messages, then one as each finishes', async () => {
    const lanes = createNodeLanes(bounds(2, 1 << 20));
    const g = [gate(), gate()];
    await lanes.admit('a', 1, () => g[0]!.promise);
    await lanes.admit('b', 1, () => g[1]!.promise);
    let third = false;
    const admitted = lanes.admit('c', 1, async () => {}).then(() => (third = true));
    await settle();
    expect(third).toBe(false);
    expect(lanes.pending()).toEqual({ messages: 2, bytes: 2 });
    g[0]!.open();
    await admitted;
    expect(third).toBe(true);
    g[1]!.open();
    await lanes.drain();
    expect(lanes.pending()).toEqual({ messages: 0, bytes: 0 });

    const byBytes = createNodeLanes(bounds(100, 10));
    const big = gate();
    // One message is always admitted, however large; the next waits for it.
    await byBytes.admit('a', 50, () => big.promise);
    let next = false;
    const nextAdmitted = byBytes.admit('b', 1, async () => {}).then(() => (next = true));
    await settle();
    expect(next).toBe(false);
    big.open();
    await nextAdmitted;
    await byBytes.drain();
  });

  it("passes a failed message's error on and goes on with the node's next message", async () => {
    const errors: string[] = [];
    const lanes = createNodeLanes({ ...bounds(10, 1 << 20), onError: (e) => errors.push(e.message) });
    const ran: number[] = [];
    await lanes.admit('a', 1, () => Promise.reject(new Error('boom')));
    await lanes.admit('a', 1, async () => void ran.push(2));
    await lanes.drain();
    expect(errors).toEqual(['boom']);
    expect(ran).toEqual([2]);
  });

  it('drains the messages admitted while it waits too', async () => {
    const lanes = createNodeLanes(bounds(1, 1 << 20));
    const first = gate();
    const ran: string[] = [];
    await lanes.admit('a', 1, () => first.promise.then(() => void ran.push('a')));
    // Waits for room, as the message the consumer was admitting when it paused.
    const second = gate();
    const late = lanes.admit('b', 1, () => second.promise.then(() => void ran.push('b')));
    const drained = lanes.drain().then(() => [...ran]);
    first.open();
    await late;
    await settle();
    second.open();
    expect(await drained).toEqual(['a', 'b']);
  });

  it("refuses a message beyond its node's share at once, and the other nodes' messages go on", async () => {
    const lanes = createNodeLanes({ ...bounds(4, 1 << 20), maxNodeMessages: 2, maxNodeBytes: 100 });
    const slow = gate();
    const done: string[] = [];
    const slowWork = (tag: string) => () => slow.promise.then(() => void done.push(tag));
    expect(await lanes.admit('slow', 1, slowWork('slow-1'))).toBe(true);
    expect(await lanes.admit('slow', 1, slowWork('slow-2'))).toBe(true);
    // Its share is full: refused without waiting, and its work never runs.
    expect(await lanes.admit('slow', 1, slowWork('slow-3'))).toBe(false);
    // Without the share, slow's messages would have filled all four places and this would wait.
    expect(await lanes.admit('fast', 1, async () => void done.push('fast-1'))).toBe(true);
    expect(await lanes.admit('fast', 1, async () => void done.push('fast-2'))).toBe(true);
    await settle();
    expect(done).toEqual(['fast-1', 'fast-2']);
    expect(lanes.pending()).toEqual({ messages: 2, bytes: 2 });
    // By bytes too: one message is always admitted, the next waits for it beyond the share.
    expect(await lanes.admit('big', 150, slowWork('big-1'))).toBe(true);
    expect(await lanes.admit('big', 1, slowWork('big-2'))).toBe(false);
    slow.open();
    await lanes.drain();
    expect(done.slice(0, 2)).toEqual(['fast-1', 'fast-2']);
    expect(done.slice(2).sort()).toEqual(['big-1', 'slow-1', 'slow-2']);
    // Once its lane is done, the node has its whole share again.
    expect(await lanes.admit('slow', 1, async () => void done.push('slow-4'))).toBe(true);
    await lanes.drain();
    expect(done.at(-1)).toBe('slow-4');
  });
});
