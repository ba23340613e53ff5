/**
 * Issue 16: per-node quotas at the ingester. The tester filled a 64 MiB data directory with 60 x 1 MB
 * random payloads to one node's batch topic; now a dead letter keeps a 4 KiB prefix with the
 * payload's size and sha256, a node's dead-letter bytes stop at its daily allowance, its bytes per
 * second at its byte quota, and another node's rejections are still stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, topics } from '@edge-telemetry/protocol';
import { TABLES } from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { connectNode } from '../support/node-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// Two rows of ~5.6 KB a day: fewer than the 8 MiB burst admits at once (8 payloads), so some admitted
// ones are always over it, however fast the publishes arrive, even in a run across midnight UTC,
// which has two days' allowances.
const ALLOWANCE = 16 * 1024;
const DAY_MS = 86_400_000;
// 60 MB pass the byte quota whole only if they take over 50 s to arrive.
const RATE = 1024 * 1024;
const BURST = 8 * 1024 * 1024;

describe.runIf(haveMosquitto())('per-node quotas (Mosquitto, ingester on embedded ClickHouse)', () => {
  let s: Stack;
  let noisy: MqttClient;
  let other: MqttClient;

  beforeAll(async () => {
    s = await startStack({
      ingester: {
        // Small enough for a test to cross: 1 MiB/s after an 8 MiB burst, 16 KiB of dead letters a day.
        quotas: { bytesPerSecond: RATE, byteBurst: BURST, deadLetterBytesPerDay: ALLOWANCE },
      },
    });
    noisy = await mqtt.connectAsync(s.broker.url, { clientId: 'gw-noisy', protocolVersion: 4 });
    other = await mqtt.connectAsync(s.broker.url, { clientId: 'gw-other', protocolVersion: 4 });
  });
  afterAll(async () => {
    await noisy?.endAsync(true);
    await other?.endAsync(true);
    await s?.close();
  });

  const deadLetters = async (node: string) => {
    const rs = await s.clickhouse.query({
      query: `SELECT PayloadBytes, length(PayloadBase64) + length(Topic) + length(Detail) + length(NodeName) + length(ReasonCode) AS RowBytes, PayloadSha256
        FROM ${TABLES.deadLetters} WHERE NodeName = {node:String}`,
      query_params: { node },
      format: 'JSONEachRow',
    });
    return rs.json<{ PayloadBytes: number; RowBytes: number; PayloadSha256: string }>();
  };

  it('stores capped dead letters up to the allowance, drops the rest and the bytes over the rate, counted per node', async () => {
    const payloads = Array.from({ length: 60 }, () => randomBytes(1_000_000));
    const started = performance.now();
    const firstDay = Math.floor(Date.now() / DAY_MS);
    for (const p of payloads) await noisy.publishAsync(topics.batch('gw-noisy'), p, { qos: 1 });
    await other.publishAsync(topics.batch('gw-other'), Buffer.from('garbage from another node'), { qos: 1 });
    // It reaches the ingester after the 60 MB before it (checks, dead-letter inserts): seconds when
    // idle, more on a loaded machine.
    await waitFor('the other node’s dead letter', async () => (await deadLetters('gw-other')).length === 1, {
      timeoutMs: 60_000,
    });
    // Every message is accounted for: dropped at the byte quota, or stored as a dead letter, or over the allowance.
    const { drops, rows } = await waitFor(
      'all 60 payloads accounted for',
      async () => {
        const d = s.ingester
          .stats()
          .quotas.drops()
          .find((x) => x.node === 'gw-noisy');
        const r = await deadLetters('gw-noisy');
        return d && r.length + d.deadLetters + d.messages === 60 ? { drops: d, rows: r } : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // Each row: the first 4 KiB (base64), the size and the digest of a 1 MB payload.
    expect(rows.every((r) => Number(r.PayloadBytes) === 1_000_000 && Number(r.RowBytes) < 6000)).toBe(true);
    const digests = new Set(payloads.map((p) => createHash('sha256').update(p).digest('hex')));
    expect(rows.every((r) => digests.has(r.PayloadSha256))).toBe(true);
    // The allowance is per UTC day: a run across midnight has two.
    const days = Math.floor(Date.now() / DAY_MS) - firstDay + 1;
    expect(rows.reduce((n, r) => n + Number(r.RowBytes), 0)).toBeLessThanOrEqual(ALLOWANCE * days);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    // The byte quota admitted no more than the burst plus the rate over the time the payloads took
    // to arrive (bounded by now, whatever the machine's speed); the rest was dropped. The admitted
    // ones beyond the allowance were not stored; all of it counted for this node alone.
    const admittedBound = Math.floor((BURST + (RATE * (performance.now() - started)) / 1000) / 1_000_000);
    expect(60 - drops.messages).toBeLessThanOrEqual(admittedBound);
    expect(drops.messages).toBeGreaterThan(0);
    expect(drops.deadLetters).toBeGreaterThan(0);
    expect(
      s.ingester
        .stats()
        .quotas.drops()
        .map((d) => d.node),
    ).toEqual(['gw-noisy']);
    const nodes = (await (await s.call('/api/v1/nodes')).json()) as { node: string; quotaDrops?: unknown }[];
    expect(nodes.find((n) => n.node === 'gw-noisy')).toBeUndefined(); // never sent a status or a batch
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    expect(metrics).toMatch(/et_ingester_dead_letters_over_quota_total\{node="gw-noisy"\} [1-9]/);
    expect(metrics).toMatch(/et_ingester_quota_dropped_bytes_total\{node="gw-noisy"\} [1-9]/);
  }, 120_000);

  it('charges a node for the texts it left out that nobody has: its next batch is dropped undecoded, another node’s is stored', async () => {
    // Session 12: batches of template ids a node never sent, every text left out, each id a lookup for nothing.
    const codec = createBatchCodec();
    const texts = await connectNode(s.broker.url, 'gw-texts');
    const calm = await connectNode(s.broker.url, 'gw-calm');
    try {
      const b = sampleBatch({ node: 'gw-texts', seq: 1 });
      const flood = {
        ...b,
        templates: Array.from({ length: 1000 }, (_, i) => ({
          ...b.templates[0]!,
          id: `never-sent-${i}`,
          template: '',
        })),
      };
      const before = s.ingester.stats().templateTexts.unresolved;
      await texts.publish(topics.batch('gw-texts'), codec.encode(flood));
      // Stored with empty texts and acknowledged: the rows' counts are kept.
      await texts.ackFor(1);
      expect(s.ingester.stats().templateTexts.unresolved - before).toBe(1000);
      // 1000 x 16 KiB is more than the 8 MiB burst: the node's share is a burst below empty, 8 s of refill at 1 MiB/s.
      const dropped =
        s.ingester
          .stats()
          .quotas.drops()
          .find((d) => d.node === 'gw-texts')?.messages ?? 0;
      await texts.publish(topics.batch('gw-texts'), codec.encode(sampleBatch({ node: 'gw-texts', seq: 2 })));
      await waitFor(
        'the next batch of the node dropped for its quota',
        () =>
          (s.ingester
            .stats()
            .quotas.drops()
            .find((d) => d.node === 'gw-texts')?.messages ?? 0) > dropped,
      );
      await calm.publish(topics.batch('gw-calm'), codec.encode(sampleBatch({ node: 'gw-calm', seq: 1 })));
      await calm.ackFor(1);
      expect(texts.acks.some((a) => a.seqs.includes(2))).toBe(false);
    } finally {
      await texts.close();
      await calm.close();
    }
  }, 60_000);
});
