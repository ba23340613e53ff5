import { describe, expect, it } from 'vitest';
import { createNodeLanes } from './node-lanes.js';

/** A promise with its resolve at hand. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets every queued callback run (nothing here waits on a timer). */
const settle = () => new Promise((r) => setImmediate(r));

describe('node lanes', () => {
  it("runs each node's messages in arrival order and different nodes' side by side", async () => {
    const lanes = createNodeLanes({ maxMessages: 100, maxBytes: 1 << 20, onError: () => {} });
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
    const lanes = createNodeLanes({ maxMessages: 2, maxBytes: 1 << 20, onError: () => {} });
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

    const byBytes = createNodeLanes({ maxMessages: 100, maxBytes: 10, onError: () => {} });
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
    const lanes = createNodeLanes({ maxMessages: 10, maxBytes: 1 << 20, onError: (e) => errors.push(e.message) });
    const ran: number[] = [];
    await lanes.admit('a', 1, () => Promise.reject(new Error('boom')));
    await lanes.admit('a', 1, async () => void ran.push(2));
    await lanes.drain();
    expect(errors).toEqual(['boom']);
    expect(ran).toEqual([2]);
  });

  it('drains the messages admitted while it waits too', async () => {
    const lanes = createNodeLanes({ maxMessages: 1, maxBytes: 1 << 20, onError: () => {} });
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
});
