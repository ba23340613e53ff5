/**
 * The uplink against real Mosquitto through the TCP fault proxy, with a test acker in the
 * ingester's role: a day-long outage (time compressed) within and beyond the outbox cap, a
 * broker restart and an ingester that stops acknowledging, and the budget through a throttled link.
 */
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import {
  acceleratedClock,
  type CutReport,
  type Delivery,
  EVICT_STAGE,
  PRIORITY_CLASS_REASONS,
  type PriorityClassValue,
  type Uplink,
} from '../../packages/collector/src/uplink/index.js';
import { CollectorError } from '../../packages/collector/src/errors.js';
import { startAcker, type Acker } from './acker.js';
import { testBatch } from './batches.js';
import { openTestUplink, tempDir } from './harness.js';
import { waitFor } from '../support/wait.js';

const DAY_OF_WINDOWS = 1440;
/**
 * The deadline of a wait for hundreds of batches to go through the proxy, Mosquitto and the acker
 * and be acknowledged: CPU-bound, all in this process and the broker. A day of windows took 6.5 s on
 * a quarter core, and more than the 20 s it had there with the machine at load 18 (it failed).
 */
const DRAIN = { timeoutMs: 90_000 };

// Deadlines on connects and single acks are 20 s (4x slowdown and more), a backlog's drain DRAIN;
// cases get 240 s, not the default 30.
describe.runIf(haveMosquitto())('uplink through faults', { timeout: 240_000 }, () => {
  let broker: Mosquitto;
  let acker: Acker;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await acker.close();
    await broker.stop();
  });

  async function setup(
    node: string,
    opts: {
      capBytes?: number;
      rateBytesPerSec?: number;
      burstSeconds?: number;
      ackTimeoutMs?: number;
      minAckTimeoutMs?: number;
      clock?: ReturnType<typeof acceleratedClock>;
    } = {},
  ): Promise<{ uplink: Uplink; proxy: FaultProxy }> {
    const dir = await tempDir('et-uplink-');
    const proxy = await startFaultProxy({ port: broker.port });
    const uplink = await openTestUplink({ dir, url: proxy.url, node, ...opts });
    cleanups.push(async () => {
      await uplink.close();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { uplink, proxy };
  }

  /** An uplink straight to the broker with a window of 4, connected. */
  async function connected(
    node: string,
    sender: { ackTimeoutMs: number; minAckTimeoutMs?: number },
    onDelivered?: (d: Delivery) => void,
  ): Promise<Uplink> {
    const uplink = await openTestUplink({
      dir: await tempDir('et-uplink-'),
      url: broker.url,
      node,
      window: 4,
      onDelivered,
      ...sender,
    });
    await waitFor('connect', () => uplink.stats().connected, { timeoutMs: 20_000 });
    return uplink;
  }

  const storedOf = (node: string): Batch[] => acker.stored.filter((b) => b.node === node);

  it('after a day offline sends the live stream first and the whole backlog behind it, in order', async () => {
    const node = 'n-outage';
    const { uplink, proxy } = await setup(node, { rateBytesPerSec: 200_000 });
    proxy.cut();
    const produced: number[] = [];
    for (let i = 0; i < DAY_OF_WINDOWS; i += 120) {
      const rs = await Promise.all(Array.from({ length: 120 }, (_, j) => uplink.submit(testBatch(node, i + j), 0)));
      produced.push(...rs.map((r) => r.seq));
    }
    expect(uplink.stats().queueBatches).toBe(DAY_OF_WINDOWS);
    expect(storedOf(node)).toHaveLength(0);

    proxy.resume();
    await waitFor('reconnect', () => uplink.stats().connected, { timeoutMs: 20_000 });
    const live = await uplink.submit(testBatch(node, 1_000_000), 0);
    await waitFor(
      () => `the day of windows (${acker.describe()})`,
      () => storedOf(node).length === DAY_OF_WINDOWS + 1,
      DRAIN,
    );

    const got = storedOf(node);
    const backlog = got.filter((b) => b.windowStart < DAY_OF_WINDOWS);
    expect(backlog.map((b) => b.seq)).toEqual(produced);
    expect(backlog.map((b) => b.windowStart)).toEqual(produced.map((_, i) => i));
    const liveAt = got.findIndex((b) => b.seq === live.seq);
    expect(liveAt).toBeLessThan(DAY_OF_WINDOWS / 4);
    await waitFor('acks to empty the outbox', () => uplink.stats().queueBatches === 0, DRAIN);
  });

  it('beyond the cap loses exactly the counted evictions, lowest value first', async () => {
    const node = 'n-cap';
    const { uplink, proxy } = await setup(node, { capBytes: 64 * 1024 });
    proxy.cut();
    const classOf = (i: number): PriorityClassValue => ([0, 1, 2, 3, 3, 3, 2, 1][i % 8] ?? 0) as PriorityClassValue;
    const accepted = new Map<number, number>(); // production index -> seq
    let refused = 0;
    // One at a time, as a collector seals windows: a record still being written cannot be evicted
    // (outbox.evictFor), so with many submits in flight on a slow disk a newer, more valuable
    // record could go while an older, less valuable one was still being written (CI saw it).
    for (let i = 0; i < DAY_OF_WINDOWS; i++) {
      try {
        accepted.set(i, (await uplink.submit(testBatch(node, i, 150), classOf(i))).seq);
      } catch (err) {
        expect((err as CollectorError).code).toBe('ET_ERR_OUTBOX_FULL');
        refused++;
      }
    }
    proxy.resume();
    await waitFor('the backlog to drain', () => uplink.stats().connected && uplink.stats().queueBatches === 0, DRAIN);
    // One more summary batch carries the evictions not reported yet.
    await uplink.submit(testBatch(node, DAY_OF_WINDOWS, 150), 0);
    await waitFor('the last batch', () => uplink.stats().queueBatches === 0, { timeoutMs: 20_000 });

    const got = new Set(storedOf(node).map((b) => b.windowStart));
    const missing = [...Array(DAY_OF_WINDOWS).keys()].filter((i) => !got.has(i));
    const missingByClass = [0, 1, 2, 3].map((c) => missing.filter((i) => classOf(i) === c).length);
    const reported = [0, 1, 2, 3].map((c) =>
      storedOf(node).reduce(
        (n, b) =>
          n +
          b.drops
            .filter((d) => d.stage === EVICT_STAGE && d.reason === PRIORITY_CLASS_REASONS[c])
            .reduce((m, d) => m + d.count, 0),
        0,
      ),
    );
    expect(missing.length).toBeGreaterThan(DAY_OF_WINDOWS / 2);
    expect(reported).toEqual(missingByClass);
    expect(uplink.stats().outbox.evicted).toEqual(missingByClass);
    expect(missingByClass[0]).toBe(0);
    expect(refused).toBe(missing.filter((i) => !accepted.has(i)).length);
    // Within a class the oldest went first: what is missing is a prefix of the class.
    for (const c of [1, 2, 3]) {
      const ofClass = [...Array(DAY_OF_WINDOWS).keys()].filter((i) => classOf(i) === c);
      const kept = ofClass.filter((i) => got.has(i));
      expect(ofClass.slice(ofClass.length - kept.length)).toEqual(kept);
    }
    // A class was evicted only when no less valuable record was left: every kept record of a less
    // valuable class is newer than the newest missing record of a more valuable one.
    for (const c of [1, 2]) {
      const newestMissing = Math.max(-1, ...missing.filter((i) => classOf(i) === c));
      for (const lower of [c + 1, 3]) {
        const keptLower = [...got].filter((i) => i < DAY_OF_WINDOWS && classOf(i) === lower);
        for (const i of keptLower) expect(i).toBeGreaterThan(newestMissing);
      }
    }
    // In time order, all of the batches that arrived did so oldest first.
    const order = storedOf(node)
      .map((b) => b.windowStart)
      .filter((w) => w < DAY_OF_WINDOWS);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('loses nothing through a broker restart and an ingester that stops acknowledging', async () => {
    const node = 'n-restart';
    const { uplink } = await setup(node, { ackTimeoutMs: 500 });
    const seqs: number[] = [];
    const produce = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        seqs.push((await uplink.submit(testBatch(node, i), 0)).seq);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await waitFor('connect', () => uplink.stats().connected, { timeoutMs: 20_000 });
    const producing = produce(0, 300);
    await new Promise((r) => setTimeout(r, 150));
    await broker.restart();
    await producing;
    acker.acking = false;
    await produce(300, 100);
    await new Promise((r) => setTimeout(r, 700));
    expect(uplink.stats().queueBatches).toBeGreaterThanOrEqual(100);
    acker.acking = true;
    await waitFor(
      () => `400 batches (${acker.describe()})`,
      () => storedOf(node).length === 400,
      DRAIN,
    );
    expect(new Set(storedOf(node).map((b) => b.seq))).toEqual(new Set(seqs));
    await waitFor('acks', () => uplink.stats().queueBatches === 0, DRAIN);
    expect(uplink.stats().resends).toBeGreaterThan(0);
  });

  it('backs off its resends while the ingester does not acknowledge, and delivers once it does', async () => {
    const node = 'n-backoff';
    const deliveries: Delivery[] = [];
    const uplink = await connected(node, { ackTimeoutMs: 100 }, (d) => deliveries.push(d));
    acker.acking = false;
    const submittedAt = Date.now();
    const seqs: number[] = [];
    for (let i = 0; i < 4; i++) seqs.push((await uplink.submit(testBatch(node, i), 0)).seq);
    await new Promise((r) => setTimeout(r, 2000));
    // Without backoff the window of 4 would go again every 100 ms: ~80 resends in 2 s. With the
    // timeout doubling to 4x it goes at most every 400 ms after the first rounds (at 100 and 300
    // ms). The bound is over the time that really passed: a starved test process wakes from its
    // 2 s later, and the resends went on meanwhile.
    const resends = uplink.stats().resends;
    const elapsed = Date.now() - submittedAt;
    expect(resends).toBeGreaterThan(0);
    expect(resends).toBeLessThanOrEqual(4 * (3 + Math.ceil(elapsed / 400)));
    const backAt = Date.now();
    acker.acking = true;
    await waitFor('acks after the ingester is back', () => uplink.stats().queueBatches === 0, { timeoutMs: 20_000 });
    await uplink.close();
    // Each batch said once, timed from its first publish (before the ingester came back), not
    // from the resend that was acknowledged.
    expect(deliveries.map((d) => d.seq).sort((a, b) => a - b)).toEqual(seqs);
    for (const d of deliveries) {
      expect(d.publishedAt).toBeGreaterThanOrEqual(submittedAt);
      expect(d.publishedAt).toBeLessThan(backAt);
      expect(d.ackedAt).toBeGreaterThanOrEqual(backAt);
    }
  });

  it('resends a batch whose ack was lost after about the time acks take, not after ackTimeoutMs', async () => {
    const node = 'n-adaptive';
    const uplink = await connected(node, { ackTimeoutMs: 600_000, minAckTimeoutMs: 100 });
    // Acks measured: batches sent one at a time, each acknowledged.
    for (let i = 0; i < 5; i++) {
      await uplink.submit(testBatch(node, i), 0);
      await waitFor('the ack', () => uplink.stats().queueBatches === 0, { timeoutMs: 20_000 });
    }
    // Not 'no resend so far': with acks of a few ms the timeout in force is the 100 ms least, which
    // one stall of this process (GC, a loaded machine) passes, and the batch goes again. What
    // counts is what follows.
    const resends = uplink.stats().resends;
    // An ingester that takes the next batch and dies before acknowledging it.
    acker.acking = false;
    const lost = await uplink.submit(testBatch(node, 5), 0);
    // Sent again within a few ack times (loopback: well under a second unless the machine is
    // starved), not after the ten minutes configured; then acknowledged.
    await waitFor('a resend', () => uplink.stats().resends > resends, { timeoutMs: 60_000 });
    acker.acking = true;
    await waitFor('the ack after the resend', () => uplink.stats().queueBatches === 0, { timeoutMs: 60_000 });
    expect(acker.has(lost.epoch, lost.seq)).toBe(true);
    await uplink.close();
  });

  it('times an ack from when the batch reached the broker: a window slow to upload over a thin link is not resent', async () => {
    const node = 'n-thin-ack';
    // A least ack timeout of 5 s: what a stalled test process (its acker, the proxy and the uplink
    // share it) may add to an ack, and still half the time the last of the backlog below takes to
    // upload, which timed from the send would go again.
    const { uplink, proxy } = await setup(node, { ackTimeoutMs: 600_000, minAckTimeoutMs: 5000 });
    await waitFor('connect', () => uplink.stats().connected, { timeoutMs: 20_000 });
    // Acks measured on an open link: milliseconds, so the timeout in force is the 5 s least.
    for (let i = 0; i < 5; i++) {
      await uplink.submit(testBatch(node, i), 0);
      await waitFor('the ack', () => uplink.stats().queueBatches === 0, { timeoutMs: 20_000 });
    }
    // Then a backlog of ten 12 KB batches over a 12 KB/s link: about 10 s to upload, all sent at
    // once (window 32), each acknowledged right after it arrives. Timed from the send, the later
    // ones would pass 5 s on the way up and go again, paying the thin link twice.
    proxy.throttle(12_000);
    for (let i = 5; i < 15; i++) await uplink.submit(testBatch(node, i, 12_000), 0);
    await waitFor('the backlog acknowledged', () => uplink.stats().queueBatches === 0, { timeoutMs: 60_000 });
    expect(uplink.stats().resends).toBe(0);
    expect(storedOf(node).length).toBe(15);
  });

  it('starts on a corrupt outbox (bytes flipped, tail truncated), reports the cut and carries on', async () => {
    const node = 'n-corrupt';
    const dir = await tempDir('et-uplink-');
    const proxy = await startFaultProxy({ port: broker.port });
    proxy.cut();
    const first = await openTestUplink({ dir, url: proxy.url, node });
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) seqs.push((await first.submit(testBatch(node, i, 100), 0)).seq);
    await first.close();
    const seg = path.join(dir, (await readdir(dir)).find((n) => n.endsWith('.seg')) ?? '');
    const buf = await readFile(seg);
    const mid = Math.floor(buf.length / 2);
    buf.writeUInt8(buf.readUInt8(mid) ^ 0xff, mid);
    await writeFile(seg, buf);
    await truncate(seg, (await stat(seg)).size - 7);

    const cuts: CutReport[] = [];
    const second = await openTestUplink({ dir, url: proxy.url, node, onCut: (c) => cuts.push(c) });
    try {
      expect(cuts).toHaveLength(1);
      expect(cuts[0]?.ranges).toBe(2);
      expect(cuts[0]?.kept).toBe(18);
      expect(second.stats().outbox.cutBytes).toBe(cuts[0]?.bytes);
      proxy.resume();
      const after = await second.submit(testBatch(node, 20, 100), 0);
      await waitFor(
        'the repaired outbox to drain',
        () => second.stats().connected && second.stats().queueBatches === 0,
        { timeoutMs: 10_000 },
      );
      const epoch0 = storedOf(node).find((b) => b.windowStart === 0)?.epoch;
      const got = storedOf(node).map((b) => `${b.epoch}/${b.seq}`);
      expect(got).toHaveLength(19);
      expect(after.epoch).not.toBe(epoch0);
      expect(got).toContain(`${after.epoch}/${after.seq}`);
      const lost = seqs.filter((s) => !got.includes(`${epoch0}/${s}`));
      expect(lost).toHaveLength(2);
      expect(lost).toContain(seqs[19]);
    } finally {
      await second.close();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds the budget within 5% over a simulated hour through a throttled link', async () => {
    const node = 'n-budget';
    // 300x: the hour takes 12 s of wall time. What the uplink cannot send while its bucket is full
    // is lost below the budget, so the bucket must cover what a loaded machine stalls: a 300 s
    // burst of ~10 kB batches leaves 20 kB of room, 0.66 s of wall time. With the former 1 kB
    // batches and a 60 s burst (200 ms of room) the uplink had to read, frame and have
    // acknowledged 30 batches a second, one outbox read after another; at load 20-30 it managed
    // 10 and sent 27-33% of its budget (the lower bound failed). Now it is 3 a second.
    const factor = 300;
    const rate = 100; // bytes/s of simulated time: 30 kB/s of wall time
    const burst = 300;
    const clock = acceleratedClock(factor);
    const { uplink, proxy } = await setup(node, {
      rateBytesPerSec: rate,
      burstSeconds: burst,
      ackTimeoutMs: 3_600_000,
      clock,
    });
    proxy.throttle(rate * factor * 2);
    proxy.cut();
    // A backlog well beyond what an hour of budget carries (~40 batches).
    for (let i = 0; i < 160; i += 40)
      await Promise.all(Array.from({ length: 40 }, (_, j) => uplink.submit(testBatch(node, i + j, 15_000), 0)));
    // Counted from before the link is back, and timed from the connect itself (the uplink's clock):
    // the full bucket goes at once, before a wait for `connected` could read the counters.
    const bytes0 = proxy.bytes.up;
    const sent0 = uplink.stats().bytesSent;
    proxy.resume();
    await waitFor('connect', () => uplink.stats().connected, { timeoutMs: 20_000 });
    const t0 = uplink.stats().link.connectedAt;
    await new Promise((r) => setTimeout(r, 3_600_000 / factor));
    const simulatedSec = (clock.now() - t0) / 1000;
    const onLink = proxy.bytes.up - bytes0;
    const allowed = rate * simulatedSec + rate * burst;
    // The budget is a ceiling: never more than 5% over it. Below it by a batch not yet due (~2.5%)
    // and what a stall longer than the bucket's room loses; a starved uplink would still fail the lower bound.
    expect(onLink / allowed, `${onLink} bytes on the link, ${allowed} allowed`).toBeLessThan(1.05);
    expect(onLink / allowed, `${onLink} bytes on the link, ${allowed} allowed`).toBeGreaterThan(0.85);
    expect((uplink.stats().bytesSent - sent0) / allowed).toBeLessThan(1.05);
    expect(uplink.stats().queueBatches).toBeGreaterThan(100);
  });
});
