import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createBatchCodec, LogLevel } from '@edge-telemetry/protocol';
import { idleHealth } from '@edge-telemetry/protocol/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stillReachable } from '../../../../../test/support/gc.js';
import { waitFor } from '../../../../../test/support/wait.js';
import { DropCounter } from '../../batch/drops.js';
import { PriorityClass, type BatchDraft } from '../../batch/priority-classes.js';
import type { LinkState, Transport, TransportHandlers } from '../mqtt/transport.js';
import { resolveUplinkOptions } from '../options.js';
import { Outbox, type OutboxRecord } from '../outbox/outbox.js';
import { systemClock } from './clock.js';
import { Uplink, type UplinkDeps } from './uplink.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-uplink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A link that is up at once and hands every published frame to the test (the broker and ingester are the test). */
function loopback(): { connect(h: TransportHandlers): Transport; frames: Buffer[]; handlers(): TransportHandlers } {
  const frames: Buffer[] = [];
  let handlers: TransportHandlers | undefined;
  const state: LinkState = {
    phase: 'connected',
    since: 0,
    connectedAt: 0,
    attempts: 0,
    lastError: undefined,
  } as LinkState;
  return {
    frames,
    handlers: () => handlers as TransportHandlers,
    connect(h) {
      handlers = h;
      queueMicrotask(() => h.onConnect());
      return {
        connected: true,
        state: () => state,
        publish: async (_topic, payload) => void frames.push(payload),
        publishStatus: () => undefined,
        close: async () => undefined,
      };
    },
  };
}

const draft = (i: number): BatchDraft => ({
  node: 'n1',
  sentAt: 0,
  windowStart: i * 60_000,
  windowEnd: (i + 1) * 60_000,
  containers: [],
  metrics: [],
  logs: [],
  templates: [],
  events: [],
  drops: [],
  health: idleHealth(),
});

/** A real outbox in the test's directory and the real codec, over the loopback link, connected. */
async function connected(outboxOptions: { segmentBytes?: number }, deps: Partial<UplinkDeps> = {}) {
  const options = resolveUplinkOptions({
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    outbox: { dir, ...outboxOptions },
    // Standalone frames, which the test reads without keyframes.
    sender: { references: 0 },
  });
  const outbox = await Outbox.open(options.outbox);
  const codec = createBatchCodec();
  const link = loopback();
  const uplink = new Uplink({
    node: 'n1',
    outbox,
    codec,
    clock: systemClock,
    options: options.sender,
    budget: options.budget,
    connect: (h) => link.connect(h),
    ...deps,
  });
  await waitFor('connected', () => uplink.isConnected, { timeoutMs: 30_000, intervalMs: 5 });
  return { uplink, outbox, codec, link };
}

describe('Uplink', () => {
  it('lets go of the windows of the past it has sent and had acknowledged (a backlog of thousands of windows)', async () => {
    const { uplink, outbox, codec, link } = await connected({ segmentBytes: 8 * 1024 });
    const refs: Array<WeakRef<OutboxRecord>> = [];
    let acked = 0;
    // A backlog read window after window: each sealed window goes to the backlog queue, is sent and acknowledged.
    for (let i = 0; i < 1000; i++) {
      await uplink.submitGroup([{ draft: draft(i), priorityClass: PriorityClass.summaries, backlog: true }]);
      for (const r of outbox.unacked()) refs.push(new WeakRef(r));
      await waitFor(
        () => `window ${i} sent (${JSON.stringify(uplink.stats().link)} ${uplink.stats().inflight})`,
        () => link.frames.length > acked,
        { timeoutMs: 30_000, intervalMs: 1 },
      );
      for (const f of link.frames.splice(0)) {
        const b = codec.decodeFrame(f, 'n1', []);
        if (!b.ok) throw b.error;
        link.handlers().onAck({ v: 1, node: 'n1', epoch: b.value.batch.epoch, seqs: [b.value.batch.seq] });
      }
      acked = 0;
    }
    expect(uplink.stats()).toMatchObject({ acked: 1000, queueBatches: 0 });
    // The backlog queue kept every record it had sent: all 1000 stayed reachable.
    expect(await stillReachable(refs)).toBeLessThan(300);
    await uplink.close();
  });

  it('sends the batches of a seal that encode and counts and reports the one the codec refuses', async () => {
    const drops = new DropCounter();
    const refused: unknown[] = [];
    const { uplink, outbox, link } = await connected({}, { drops, onEncodeRefused: (r) => refused.push(r) });
    // Warnings of incompressible text over the wire limit in one batch (what splitByPriority
    // should have cut, here handed to the uplink whole): the codec refuses it with ET_ERR_TOO_LARGE.
    const blob = (i: number) => ({
      ts: 60_000 + i,
      container: 'app',
      level: LogLevel.warn,
      message: randomBytes(40_000).toString('base64'),
      stream: 'stderr' as const,
      repeat: 1,
      templateId: '',
      fields: {},
    });
    const tooLarge: BatchDraft = { ...draft(1), logs: Array.from({ length: 30 }, (_, i) => blob(i)) };
    const cursor = Buffer.from('reading positions after window 1');
    const ids = await uplink.submitGroup(
      [
        { draft: tooLarge, priorityClass: PriorityClass.warnError },
        { draft: draft(1), priorityClass: PriorityClass.templates },
        { draft: draft(1), priorityClass: PriorityClass.summaries },
      ],
      { cursor },
    );
    // The two that encode are durable and sent, the cursor with them; the refused one is a drop.
    expect(ids.map((i) => i.seq)).toEqual([1, 2]);
    expect(outbox.cursor()).toEqual(cursor);
    await waitFor('two frames sent', () => link.frames.length === 2);
    expect(drops.take()).toEqual([{ stage: 'uplink.encode', reason: 'warn_error', container: '', count: 1 }]);
    expect(refused).toEqual([
      expect.objectContaining({ seq: 0, priorityClass: PriorityClass.warnError, code: 'ET_ERR_TOO_LARGE' }),
    ]);
    expect(uplink.stats().encodeRefused).toBe(1);

    // A seal none of whose batches encode still moves the cursor: the lines would be refused again.
    const next = Buffer.from('reading positions after window 2');
    expect(
      await uplink.submitGroup(
        [{ draft: { ...tooLarge, windowEnd: 180_000 }, priorityClass: PriorityClass.warnError }],
        { cursor: next },
      ),
    ).toEqual([]);
    expect(outbox.cursor()).toEqual(next);
    expect(uplink.stats().encodeRefused).toBe(2);
    await uplink.close();
  });
});
