/**
 * Compression against earlier batches, end to end: a real collector Uplink, real Mosquitto and two
 * real ingesters on one shared subscription (sharing the process's embedded ClickHouse, as the
 * scale-out test does). Keyframes stored by one ingester are found by the other through
 * et_batch_references; when the references are gone (TTL, lost data) the ingesters answer
 * `resend` and the node sends standalone. Every batch is stored exactly once throughout.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBatch, seededRng } from '@edge-telemetry/protocol/testing';
import { TABLES, type Ingester } from '../../packages/ingester/src/index.js';
import type { BatchDraft, Uplink } from '../../packages/collector/src/uplink/index.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { startStack, type Stack } from '../support/stack.js';
import { openTestUplink } from './harness.js';
import { waitFor } from '../support/wait.js';

const NODE = 'ref-node-1';
// The same sources every window, as a node's logs and series are: what earlier batches hold recurs.
const sources = {
  lines: Array.from(
    { length: 60 },
    (_, i) => `session ${i % 9} opened for user u${i % 5} from 10.0.${i % 4}.${i} port ${4000 + i}`,
  ),
  values: Array.from({ length: 500 }, (_, i) => 40 + 10 * Math.sin(i / 7)),
};
// Recent windows: rows older than the retention TTL would be dropped at insert.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
/**
 * The deadline of one batch's ack: a deadline for a hang, not a pace. Each ack waits for the batch to
 * be stored in the process's embedded ClickHouse, and for a keyframe read from it on a miss: at load
 * 30 here four acks took 29 s and the fifth more than the 10 s it had (the next case, which starts at
 * batch 41, failed with it). The node resends after its 3 s ack timeout meanwhile; what is asserted is
 * that every batch is acknowledged and stored once, not how fast.
 */
const ACK_WAIT = { timeoutMs: 60_000 };
const windowAt = (i: number): BatchDraft => {
  const {
    epoch: _e,
    seq: _s,
    ...b
  } = sampleBatch(
    seededRng(i),
    sources,
    { containers: 3, metricsPerContainer: 4, logs: 10, templates: 8, samplesPerMetric: 6 },
    T0 + i * 60_000,
  );
  return { ...b, node: NODE };
};

describe.runIf(haveMosquitto())('batches compressed against earlier batches, through two ingesters', () => {
  let stack: Stack;
  let ingesters: Ingester[] = [];
  let uplink: Uplink;

  // Reading ahead (referenceFollowMs) off: the first two cases are about the reads a miss makes.
  const options = (clientId: string, referenceFollowMs = 0) => ({
    mqtt: { clientId, sharedGroup: 'ingest', protocolVersion: 5 },
    writer: { flushIntervalMs: 20 },
    referenceFollowMs,
  });
  /** Two more ingesters on the shared subscription and the same engine, with empty caches. */
  const startIngesters = async (referenceFollowMs?: number) => {
    ingesters = [];
    for (const id of ['ref-a', 'ref-b'])
      ingesters.push((await stack.addIngester(options(id, referenceFollowMs))).ingester);
  };
  const count = async (q: string) =>
    Number((await (await stack.clickhouse.query({ query: q, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
  const stored = () =>
    count(`SELECT count() AS n FROM (SELECT DISTINCT Seq FROM ${TABLES.ledger} WHERE NodeName = '${NODE}')`);
  const ledgerRows = () => count(`SELECT count() AS n FROM ${TABLES.ledger} WHERE NodeName = '${NODE}'`);
  const sum = <K extends 'unknownReferences' | 'batchesStored'>(k: K) =>
    ingesters.reduce((n, i) => n + i.stats().consumer[k], 0);

  beforeAll(async () => {
    stack = await startStack({ ingester: options('ref-a') });
    ingesters = [stack.ingester, (await stack.addIngester(options('ref-b'))).ingester];
    uplink = await openTestUplink({
      dir: path.join(stack.dir, 'outbox'),
      url: stack.broker.url,
      node: NODE,
      ackTimeoutMs: 3000,
    });
  });
  afterAll(async () => {
    await uplink?.close();
    await stack?.close();
  });

  it('decodes frames against keyframes kept by either ingester, and stores each batch once', async () => {
    for (let i = 0; i < 40; i++) {
      await uplink.submit(windowAt(i), (i % 3) as 0 | 1 | 2);
      // One window after another, as the collector seals them, so acknowledged keyframes exist to
      // refer to. Three classes against two ingesters taking turns: a class's batches alternate between them.
      // 40 round trips through Mosquitto and two ingesters: the case's bound is for a loaded machine
      // (a CI run at load 20 spent over 30 s on them, a run here at load 30 about 7 s a batch), not a pace.
      await waitFor(`ack of batch ${i + 1}`, () => uplink.stats().acked === i + 1, ACK_WAIT);
    }
    const r = uplink.stats().references;
    expect(r.keyframes).toBeGreaterThan(0);
    expect(r.referenced).toBeGreaterThan(20);
    // Both ingesters took batches, and at least one had to read a keyframe the other stored.
    expect(ingesters.every((i) => i.stats().consumer.batchesStored > 0)).toBe(true);
    expect(ingesters.reduce((n, i) => n + i.stats().references.misses, 0)).toBeGreaterThan(0);
    expect(sum('unknownReferences')).toBe(0);
    expect(await stored()).toBe(40);
    expect(await ledgerRows()).toBe(40);
    const metrics = await count(`SELECT count() AS n FROM ${TABLES.metrics} WHERE NodeName = '${NODE}'`);
    expect(metrics).toBe(Array.from({ length: 40 }, (_, i) => windowAt(i).metrics.length).reduce((a, b) => a + b, 0));
  }, 600_000);

  it('when the keyframes are gone, the ingesters ask for a resend and the node sends standalone', async () => {
    for (const i of ingesters) await i.stop();
    await stack.clickhouse.command({ query: `TRUNCATE TABLE ${TABLES.references}` });
    await startIngesters();
    const before = uplink.stats().references.unknown;
    for (let i = 40; i < 48; i++) {
      await uplink.submit(windowAt(i), (i % 3) as 0 | 1 | 2);
      await waitFor(`ack of batch ${i + 1}`, () => uplink.stats().acked === i + 1, ACK_WAIT);
    }
    expect(sum('unknownReferences')).toBeGreaterThan(0);
    expect(uplink.stats().references.unknown).toBeGreaterThan(before);
    expect(await stored()).toBe(48);
    expect(await ledgerRows()).toBe(48);
  }, 240_000);

  it("reading ahead, each ingester has the other's keyframes before a batch needs them: no read of its own", async () => {
    for (const i of ingesters) await i.stop();
    await startIngesters(50);
    // A node whose keyframes are all stored after these ingesters started.
    const node = 'ref-node-2';
    const ahead = await openTestUplink({
      dir: path.join(stack.dir, 'outbox-2'),
      url: stack.broker.url,
      node,
      ackTimeoutMs: 3000,
    });
    try {
      for (let i = 0; i < 16; i++) {
        await ahead.submit({ ...windowAt(i), node }, (i % 3) as 0 | 1 | 2);
        await waitFor(`ack of batch ${i + 1}`, () => ahead.stats().acked === i + 1, ACK_WAIT);
        // The keyframe of an acknowledged batch is stored: once each ingester has looked since,
        // it holds it (a condition, not a pace: on a loaded machine the look may come late).
        const acked = Date.now();
        await waitFor('both ingesters to read ahead', () =>
          ingesters.every((x) => x.stats().references.followedTo > acked),
        );
      }
      expect(ahead.stats().references.referenced).toBeGreaterThan(5);
      expect(ingesters.every((x) => x.stats().consumer.batchesStored > 0)).toBe(true);
      expect(ingesters.reduce((n, x) => n + x.stats().references.followed, 0)).toBeGreaterThan(0);
      expect(ingesters.map((x) => x.stats().references.misses)).toEqual([0, 0]);
      expect(sum('unknownReferences')).toBe(0);
      expect(
        await count(`SELECT count() AS n FROM (SELECT DISTINCT Seq FROM ${TABLES.ledger} WHERE NodeName = '${node}')`),
      ).toBe(16);
    } finally {
      await ahead.close();
    }
  }, 240_000);
});
