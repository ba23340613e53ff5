import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, decodeAck, topics } from '@edge-telemetry/protocol';
import { resolveConfig } from '../config/load.js';
import { TABLES } from '../storage/tables.js';
import type { Logger } from '../logger.js';
import { sampleBatch } from '../../../../test/support/batches.js';
import {
  refuseRowsContaining,
  insertCounter,
  openMigrated,
  type EmbeddedClickHouse,
} from '../../../../test/support/clickhouse.js';
import { createWriter } from '../writer/writer.js';
import { createReferenceStore, type ReferenceStore } from '../references/store.js';
import type { TemplateTextResolver } from '../template-texts/resolver.js';
import { routerRig, type RouterRigOptions } from '../../../../test/support/router.js';
import { waitFor } from '../../../../test/support/wait.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const codec = createBatchCodec();

/** The figures of a stand-in text resolver that never reads. */
const noTextStats = () => ({
  fromCache: 0,
  fromStorage: 0,
  unresolved: 0,
  notLookedUp: 0,
  reads: 0,
  followed: 0,
  cachedBytes: 0,
});

describe('router on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  let client: ClickHouseClient;
  const deadLetterInserts = insertCounter(TABLES.deadLetters);
  const config = resolveConfig({ writer: { flushIntervalMs: 20, retryMinMs: 10, retryMaxMs: 40 } }, {});

  const setup = (
    references?: ReferenceStore,
    templateTexts?: TemplateTextResolver,
    more: Pick<RouterRigOptions, 'onPull' | 'quotas'> = {},
  ) => {
    const acked: { node: string; seqs: number[] }[] = [];
    let onAck = () => {};
    const acks = (n: number) => new Promise<void>((resolve) => (onAck = () => acked.length >= n && resolve()));
    const writer = createWriter({ client, options: config.writer, logger: quiet });
    const { router, drain, quotas } = routerRig(client, {
      ...more,
      writer,
      logger: quiet,
      ingesterId: 'test',
      ...(references ? { references } : {}),
      ...(templateTexts ? { templateTexts } : {}),
      publish: async (_topic, payload) => {
        const a = decodeAck(payload);
        if (a.ok) acked.push({ node: a.value.node, seqs: a.value.seqs });
        onAck();
      },
    });
    return { writer, router, acked, acks, drain, quotas };
  };
  const deadLetters = async (node: string) => {
    const rs = await client.query({
      query: `SELECT ReasonCode, PayloadBase64, PayloadBytes, PayloadSha256 FROM ${TABLES.deadLetters} WHERE NodeName = {node:String}`,
      query_params: { node },
      format: 'JSONEachRow',
    });
    return rs.json<{ ReasonCode: string; PayloadBase64: string; PayloadBytes: number; PayloadSha256: string }>();
  };

  beforeAll(async () => {
    engine = await openMigrated('router', (c) => deadLetterInserts.wrap(refuseRowsContaining('POISON-ROW')(c)));
    client = engine.client;
  });
  afterAll(() => engine.close());

  it('dead-letters a batch whose rows ClickHouse refuses, with its bytes, then acknowledges it; its neighbour is stored', async () => {
    const { writer, router, acked, acks, drain } = setup();
    const both = acks(2);
    const good = sampleBatch({ node: 'r-ref', seq: 1 });
    const bad = sampleBatch({ node: 'r-ref', seq: 2 });
    const poison = codec.encode({ ...bad, logs: bad.logs.map((l) => ({ ...l, message: 'POISON-ROW' })) });
    await router.handle(topics.batch('r-ref'), codec.encode(good));
    await router.handle(topics.batch('r-ref'), poison);
    await both;
    await writer.close();
    await drain();
    expect(acked.flatMap((a) => a.seqs).sort()).toEqual([1, 2]);
    const rows = await deadLetters('r-ref');
    expect(rows.map((r) => r.ReasonCode)).toEqual(['ET_ERR_STORAGE_REJECTED']);
    // The row keeps the payload's first 4 KiB, its size and its sha256, never the whole of it.
    expect(Buffer.from(rows[0]!.PayloadBase64, 'base64').equals(poison.subarray(0, 4096))).toBe(true);
    expect(rows[0]).toMatchObject({
      PayloadBytes: poison.length,
      PayloadSha256: createHash('sha256').update(poison).digest('hex'),
    });
    expect(router.counters()).toMatchObject({
      batchesStored: 1,
      acksPublished: 2,
      rejected: { ET_ERR_STORAGE_REJECTED: 1 },
    });
    expect(writer.state().batchesRefused).toBe(1);
  });

  it("decodes different nodes' batches side by side: those whose keyframe another ingester took share one read of it", async () => {
    const nodes = Array.from({ length: 20 }, (_, i) => `r-lane-${i}`);
    const frame = (node: string, seq: number, references: { seq: number; body: Buffer }[]) => {
      const r = codec.reencode(codec.encode(sampleBatch({ node, epoch: 1, seq })), {
        epoch: 1,
        seq,
        references,
        keyframe: references.length === 0,
      });
      if (!r.ok) throw new Error(r.error.detail);
      return r.value;
    };
    // The first ingester takes every node's keyframe and stores its body.
    const keyframes = nodes.map((node) => frame(node, 1, []));
    const refsA = createReferenceStore({ client, cacheBytes: 1 << 20 });
    const a = setup(refsA);
    for (const [i, node] of nodes.entries()) await a.router.handle(topics.batch(node), keyframes[i]!.frame);
    await a.drain();
    await a.writer.close();
    await refsA.drain();
    // The second, with an empty cache, gets each node's next batch, compressed against it.
    const refsB = createReferenceStore({ client, cacheBytes: 1 << 20 });
    const b = setup(refsB);
    for (const [i, node] of nodes.entries())
      await b.router.handle(topics.batch(node), frame(node, 2, [{ seq: 1, body: keyframes[i]!.body }]).frame);
    await b.drain();
    await b.writer.close();
    await waitFor('an ack for every batch', () => b.acked.length >= nodes.length, { timeoutMs: 60_000 });
    expect(b.router.counters()).toMatchObject({ batchesStored: 20, unknownReferences: 0 });
    expect(b.acked.map((x) => x.node).sort()).toEqual([...nodes].sort());
    expect(refsB.stats()).toMatchObject({ misses: 20 });
    expect(refsB.stats().reads).toBeLessThanOrEqual(2);
  });

  it('stamps a batch with the time it arrived, not the time its wait for a keyframe ended', async () => {
    const node = 'r-arrived';
    const keyframe = codec.reencode(codec.encode(sampleBatch({ node, epoch: 1, seq: 1 })), {
      epoch: 1,
      seq: 1,
      references: [],
      keyframe: true,
    });
    if (!keyframe.ok) throw new Error(keyframe.error.detail);
    const next = codec.reencode(codec.encode(sampleBatch({ node, epoch: 1, seq: 2 })), {
      epoch: 1,
      seq: 2,
      references: [{ seq: 1, body: keyframe.value.body }],
      keyframe: false,
    });
    if (!next.ok) throw new Error(next.error.detail);
    // A reference store whose read is held until the test lets it go.
    let asked = false;
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const references = {
      ...createReferenceStore({ client, cacheBytes: 1 << 20 }),
      get: async () => {
        asked = true;
        await held;
        return [keyframe.value.body];
      },
    };
    const { router, acks, writer, drain } = setup(references);
    const acked = acks(1);
    const before = Date.now();
    await router.handle(topics.batch(node), next.value.frame);
    await waitFor('the batch to wait for its keyframe', () => asked);
    // Released once the clock has moved on from the arrival.
    await waitFor('the clock to move on', () => Date.now() > before + 50);
    const releasedAt = Date.now();
    release();
    await acked;
    await writer.close();
    await drain();
    const rs = await client.query({
      query: `SELECT toUnixTimestamp64Milli(ReceivedAt) AS at FROM ${TABLES.ledger} WHERE NodeName = {node:String}`,
      query_params: { node },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ at: string }>();
    expect(Number(row?.at)).toBeGreaterThanOrEqual(before);
    expect(Number(row?.at)).toBeLessThan(releasedAt);
  });

  it('counts a message as handling until the writer has it: in its lane, then while its template texts are read', async () => {
    let texts!: () => void;
    const read = new Promise<void>((r) => (texts = r));
    // Stands in for a template-text read from ClickHouse that takes a while.
    const slowTexts: TemplateTextResolver = {
      fill: (b) => read.then(() => b),
      waitForRoom: async () => {},
      catchUp: async () => 0,
      stats: noTextStats,
    };
    const { writer, router, acked, acks, drain } = setup(undefined, slowTexts);
    const one = acks(1);
    const payload = codec.encode(sampleBatch({ node: 'r-handling', seq: 1 }));
    await router.handle(topics.batch('r-handling'), payload);
    await router.drain();
    // Out of its lane, not in the writer's queue: only handling() says it is not stored yet.
    expect(writer.state().queuedBatches).toBe(0);
    expect(router.handling()).toEqual({ messages: 1, bytes: payload.length });
    texts();
    await one;
    expect(router.handling()).toEqual({ messages: 0, bytes: 0 });
    expect(acked.flatMap((a) => a.seqs)).toEqual([1]);
    await writer.close();
    await drain();
  });

  it("holds one node whose messages are slow to handle to its share of the lanes: another node's batch is stored meanwhile", async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    let pulled = 0;
    const { writer, router, acked, acks, drain, quotas } = setup(undefined, undefined, {
      // Stands in for a node whose every message takes long to handle (here its log-pull chunks).
      onPull: async (node) => {
        if (node === 'r-slow') await slow;
        pulled++;
      },
      quotas: { messageBurst: 10_000 },
    });
    const fastAcked = acks(1);
    // More than the lanes hold (1,000), each awaited as the MQTT consumer awaits it before reading on:
    // without a share per node the 1,001st would wait for r-slow, and r-fast's batch behind it.
    const slowMessages = 1_100;
    const sent = (async () => {
      for (let i = 0; i < slowMessages; i++)
        await router.handle(topics.pull('r-slow', 'p1'), Buffer.from(`chunk ${i}`));
      await router.handle(topics.batch('r-fast'), codec.encode(sampleBatch({ node: 'r-fast', seq: 1 })));
    })();
    await waitFor("r-fast's batch acknowledged", () => acked.length > 0, { timeoutMs: 20_000 });
    await fastAcked;
    await sent;
    // r-slow has handled nothing yet: r-fast did not wait for it.
    expect(pulled).toBe(0);
    expect(acked).toEqual([{ node: 'r-fast', seqs: [1] }]);
    // A quarter of the lanes' 1,000 messages.
    const share = 250;
    expect(quotas.drops().find((d) => d.node === 'r-slow')).toMatchObject({ messages: slowMessages - share });
    expect(router.counters().overQuota).toBe(slowMessages - share);
    release();
    await drain();
    expect(pulled).toBe(share);
    await writer.close();
  });

  it("charges what a node's batches decompress to against its byte share: a few small frames of huge bodies, then its batches are dropped undecoded; another node's is stored", async () => {
    // Refills 1 KiB a second: nothing comes back within the test, however slow the machine.
    const burst = 4 * 1024 * 1024;
    const { writer, router, acked, acks, drain, quotas } = setup(undefined, undefined, {
      quotas: { bytesPerSecond: 1024, byteBurst: burst },
    });
    // Valid batches of 40 rows of 60 KB each: some 2.4 MB once decompressed, a few KB on the wire.
    const bombs = Array.from({ length: 10 }, (_, i) => {
      const b = sampleBatch({ node: 'r-bomb', seq: i + 1 });
      const row = b.logs[0]!;
      return codec.encode({ ...b, logs: Array.from({ length: 40 }, () => ({ ...row, message: 'A'.repeat(60_000) })) });
    });
    const decoded = codec.decodeFrame(bombs[0]!, 'r-bomb');
    if (!decoded.ok) throw new Error(decoded.error.detail);
    const body = decoded.value.body.length;
    expect(bombs.reduce((n, f) => n + f.length, 0)).toBeLessThan(100_000);
    expect(body).toBeGreaterThan(burst / 2);
    // The first takes the share below half, the second below empty; the other eight are never decompressed.
    const decodedBombs = 2;
    expect(burst - decodedBombs * body).toBeLessThan(0);
    const both = acks(decodedBombs + 1);
    for (const f of bombs) await router.handle(topics.batch('r-bomb'), f);
    await router.handle(topics.batch('r-calm'), codec.encode(sampleBatch({ node: 'r-calm', seq: 1 })));
    await both;
    await router.drain();
    await writer.close();
    await drain();
    expect(acked.filter((a) => a.node === 'r-bomb').flatMap((a) => a.seqs)).toEqual([1, 2]);
    expect(acked.filter((a) => a.node === 'r-calm')).toEqual([{ node: 'r-calm', seqs: [1] }]);
    expect(quotas.drops().find((d) => d.node === 'r-bomb')).toMatchObject({ messages: bombs.length - decodedBombs });
    expect(router.counters()).toMatchObject({
      batchesAccepted: decodedBombs + 1,
      overQuota: bombs.length - decodedBombs,
    });
    expect(quotas.overdrawn('r-bomb')).toBe(true);
    expect(quotas.overdrawn('r-calm')).toBe(false);
  });
  it("does not charge the keyframe a batch was compressed against to its node's byte share: a backlog drained against one large keyframe is all stored", async () => {
    const node = 'r-drain';
    const refs = createReferenceStore({ client, cacheBytes: 4 << 20 });
    // Refills 1 KiB a second: within the test the share is what the burst holds.
    const burst = 1024 * 1024;
    const { writer, router, acked, drain, quotas } = setup(refs, undefined, {
      quotas: { bytesPerSecond: 1024, byteBurst: burst },
    });
    const frame = (seq: number, batch: ReturnType<typeof sampleBatch>, references: { seq: number; body: Buffer }[]) => {
      const r = codec.reencode(codec.encode(batch), { epoch: 1, seq, references, keyframe: references.length === 0 });
      if (!r.ok) throw new Error(r.error.detail);
      return r.value;
    };
    // A keyframe of some 300 KB of rows, then a backlog of 20 small batches compressed against it.
    const big = sampleBatch({ node, epoch: 1, seq: 1 });
    const row = big.logs[0]!;
    const keyframe = frame(
      1,
      { ...big, logs: Array.from({ length: 50 }, (_, i) => ({ ...row, message: `${i} ${'k'.repeat(6_000)}` })) },
      [],
    );
    const backlog = Array.from({ length: 20 }, (_, i) =>
      frame(i + 2, sampleBatch({ node, epoch: 1, seq: i + 2 }), [{ seq: 1, body: keyframe.body }]),
    );
    // Charged 20 times, the keyframe alone would be far over the share.
    expect(keyframe.body.length).toBeGreaterThan(250_000);
    expect(20 * keyframe.body.length).toBeGreaterThan(4 * burst);
    await router.handle(topics.batch(node), keyframe.frame);
    // A node compresses against a keyframe once it is acknowledged.
    await waitFor('the keyframe acknowledged', () => acked.length > 0, { timeoutMs: 60_000 });
    for (const f of backlog) await router.handle(topics.batch(node), f.frame);
    await waitFor('an ack for every batch', () => acked.flatMap((a) => a.seqs).length >= 1 + backlog.length, {
      timeoutMs: 60_000,
    });
    await router.drain();
    await writer.close();
    await drain();
    await refs.drain();
    expect(acked.flatMap((a) => a.seqs).sort((a, b) => a - b)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(router.counters()).toMatchObject({ overQuota: 0, unknownReferences: 0 });
    expect(quotas.overdrawn(node)).toBe(false);
  });

  it("charges a batch refused once decompressed what it decompressed, not the decoding limit: its node's valid batch is dropped only once that is over its share", async () => {
    const burst = 4 * 1024 * 1024;
    const { writer, router, acked, drain, quotas } = setup(undefined, undefined, {
      quotas: { bytesPerSecond: 1024, byteBurst: burst },
    });
    // 2.4 MB of rows under another node's name: all decompressed and read before the name is refused.
    const b = sampleBatch({ node: 'r-other', seq: 1 });
    const row = b.logs[0]!;
    const forged = codec.encode({
      ...b,
      logs: Array.from({ length: 40 }, () => ({ ...row, message: 'A'.repeat(60_000) })),
    });
    const read = codec.decodeFrame(forged);
    if (!read.ok) throw new Error(read.error.detail);
    // One fits the share, two do not; charged the 16 MiB limit, the first alone took it below empty.
    expect(read.value.body.length).toBeLessThan(burst);
    expect(2 * read.value.body.length).toBeGreaterThan(burst);
    await router.handle(topics.batch('r-liar'), forged);
    await router.handle(topics.batch('r-liar'), forged);
    await router.handle(topics.batch('r-liar'), codec.encode(sampleBatch({ node: 'r-liar', seq: 1 })));
    await router.drain();
    await writer.close();
    await drain();
    expect(router.counters().rejected).toEqual({ ET_ERR_NODE_MISMATCH: 2 });
    expect(acked).toEqual([]);
    expect(quotas.drops().find((d) => d.node === 'r-liar')).toMatchObject({ messages: 1 });
  });

  it('takes a flood of hostile messages without waiting for their dead-letter rows, and stores every row in a few inserts', async () => {
    const { writer, router, drain } = setup();
    deadLetterInserts.reset();
    for (let i = 0; i < 300; i++) await router.handle(topics.batch('r-flood'), Buffer.from(`not a batch ${i}`));
    await writer.close();
    await drain();
    expect(await deadLetters('r-flood')).toHaveLength(300);
    expect(Object.values(router.counters().rejected).reduce((a, n) => a + n, 0)).toBe(300);
    expect(deadLetterInserts.count).toBeLessThan(30);
  });
  it('a keyframe ClickHouse refuses while its batch waits for room leaves no unhandled rejection and no ack', async () => {
    // Found with `start` on a full disk: the keyframe's insert was refused while the batch waited
    // for the writer's room, nothing handled the rejection yet, and the process ended.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let room!: () => void;
    const roomLater = new Promise<void>((r) => (room = r));
    const texts: TemplateTextResolver = {
      fill: async (b) => b,
      waitForRoom: () => roomLater,
      catchUp: async () => 0,
      stats: noTextStats,
    };
    let refused = 0;
    const full: ReferenceStore = {
      ...createReferenceStore({ client, cacheBytes: 1 << 20 }),
      put: async () => {
        refused++;
        throw new Error('keyframe not stored (ClickHouse unavailable or queue full)');
      },
    };
    const { writer, router, acked, drain } = setup(full, texts);
    const r = codec.reencode(codec.encode(sampleBatch({ node: 'r-full', epoch: 1, seq: 1 })), {
      epoch: 1,
      seq: 1,
      references: [],
      keyframe: true,
    });
    if (!r.ok) throw new Error(r.error.detail);
    await router.handle(topics.batch('r-full'), r.value.frame);
    await waitFor('the keyframe refused', () => refused > 0);
    // Turns of the event loop: Node reports a rejection nothing handles once its microtasks ran.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    room();
    await router.drain();
    await writer.close();
    await drain();
    process.off('unhandledRejection', onUnhandled);
    expect({ unhandled: unhandled.map(String), acked }).toEqual({ unhandled: [], acked: [] });
  });
});
