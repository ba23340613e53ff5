/**
 * Hostile input through the ingester's real MQTT message path: the router (topic -> decode ->
 * node check -> writer, or reject) with a real writer on embedded ClickHouse. Seeded mutations of
 * encoded batches (bit flips, truncation, huge counts, wrong lengths and versions, damaged bodies
 * re-compressed so the body decoder sees them, decompression bombs, another node's topic) are each
 * stored and acknowledged if still a valid batch, or rejected with a code, counted and
 * dead-lettered; nothing throws, and the heap stays bounded.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Compressor, Decompressor } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, FRAME_HEADER_BYTES, ProtocolErrorCodes, topics } from '@edge-telemetry/protocol';
import {
  createClickHouseClient,
  createWriter,
  IngesterErrorCodes,
  migrate,
  resolveConfig,
  TABLES,
  type Router,
  type Writer,
} from '@edge-telemetry/ingester';
import type { ClickHouseClient } from '@clickhouse/client';
import { intIn, randomBatch, seededRng, type Rng } from '../../packages/protocol/src/testing/index.js';
import { mutateBytes, type Mutant } from './mutate.js';
import { heapBound } from './heap.js';
import { routerRig } from '../support/router.js';

/**
 * Every rejection is one dead-letter insert, and the embedded engine takes 10-25 ms per insert, so
 * this path gets 1000 cases; the codec alone faces 5000 more in packages/protocol (fuzz.test.ts).
 */
export const BATCH_CASES = 1000;

const codec = createBatchCodec();
const compressor = new Compressor();
const decompressor = new Decompressor();
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Seed {
  node: string;
  frame: Buffer;
  body: Buffer;
}

/** One hostile message: its topic and bytes. */
function hostile(rng: Rng, seeds: Seed[], bombs: Buffer[]): { topic: string; m: Mutant } {
  const s = seeds[intIn(rng, 0, seeds.length - 1)] as Seed;
  const roll = rng();
  if (roll < 0.6) return { topic: topics.batch(s.node), m: mutateBytes(rng, s.frame) };
  if (roll < 0.85) {
    // Damage the body behind a valid header and zstd frame, so the body decoder itself is tested.
    const m = mutateBytes(rng, s.body);
    return {
      topic: topics.batch(s.node),
      m: {
        kind: `body-${m.kind}`,
        bytes: Buffer.concat([s.frame.subarray(0, FRAME_HEADER_BYTES), compressor.compress(m.bytes)]),
      },
    };
  }
  if (roll < 0.9) {
    const b = Buffer.from(s.frame);
    b[2] = intIn(rng, 0, 255) === 1 ? 2 : intIn(rng, 2, 255);
    return { topic: topics.batch(s.node), m: { kind: 'wrong-version', bytes: b } };
  }
  if (roll < 0.95) {
    const other = seeds.find((x) => x.node !== s.node) as Seed;
    return { topic: topics.batch(other.node), m: { kind: 'node-mismatch', bytes: s.frame } };
  }
  if (roll < 0.97)
    return {
      topic: topics.batch(s.node),
      m: { kind: 'decompression-bomb', bytes: bombs[intIn(rng, 0, bombs.length - 1)] as Buffer },
    };
  return {
    topic: `et/v1/${s.node}/up/${intIn(rng, 0, 1) ? 'batch/extra' : 'nonsense'}`,
    m: { kind: 'unknown-topic', bytes: s.frame },
  };
}

describe('fuzzed batches through the router (seeded, real writer on embedded ClickHouse)', () => {
  let dir: string;
  let client: ClickHouseClient;
  let writer: Writer;
  let router: Router;
  let drainRouter: () => Promise<void>;
  const acks: string[] = [];

  beforeAll(async () => {
    // On tmpfs where there is one: the engine's per-insert cost halves without the disk under it.
    dir = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'et-fuzz-router-'));
    client = createClickHouseClient({ dataDir: dir });
    const config = resolveConfig(
      { clickhouse: { dataDir: dir }, writer: { flushIntervalMs: 50 }, logLevel: 'silent' },
      {},
    );
    await migrate(client, { retention: config.retention });
    writer = createWriter({ client, options: config.writer, logger: quiet });
    ({ router, drain: drainRouter } = routerRig(client, {
      writer,
      logger: quiet,
      ingesterId: 'fuzz',
      // About the decoder, not the quotas: what the bombs decompress to is charged to their node's
      // byte share, which would drop that node's later cases unhandled, more of them the faster the run.
      quotas: { byteBurst: 1024 ** 4 },
      publish: async (topic) => void acks.push(topic),
    }));
  });
  afterAll(async () => {
    await client?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`${BATCH_CASES} hostile messages: each stored and acked, or rejected with a code, counted and dead-lettered`, async () => {
    const seeds: Seed[] = Array.from({ length: 24 }, (_, i) => {
      const batch = randomBatch(seededRng(5000 + i));
      const frame = codec.encode(batch);
      return {
        node: batch.node,
        frame,
        body: Buffer.from(decompressor.decompress(frame.subarray(FRAME_HEADER_BYTES))),
      };
    });
    expect(new Set(seeds.map((s) => s.node)).size).toBeGreaterThan(1);
    const header = seeds[0]?.frame.subarray(0, FRAME_HEADER_BYTES) as Buffer;
    const bombs = [Buffer.alloc(64 * 1024 * 1024), Buffer.alloc(9 * 1024 * 1024, 0x41)].map((b) =>
      Buffer.concat([header, compressor.compress(b)]),
    );

    const heap = heapBound();
    const rng = seededRng(0xba7c4);
    const kinds: Record<string, number> = {};
    for (let i = 0; i < BATCH_CASES; i++) {
      const { topic, m } = hostile(rng, seeds, bombs);
      kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
      // The router never throws: a throw here fails the test with the case that caused it.
      await router.handle(topic, m.bytes);
    }
    // handle() resolves on admission: every message reaches the writer before it closes.
    await router.drain();
    await writer.close();
    await drainRouter();

    const c = router.counters();
    const rejected = Object.values(c.rejected).reduce((a, n) => a + n, 0);
    expect(c.received).toBe(BATCH_CASES);
    expect(rejected + c.batchesAccepted).toBe(BATCH_CASES);
    expect(rejected).toBeGreaterThan(BATCH_CASES * 0.8);
    expect(c.batchesAccepted).toBeGreaterThan(0);
    expect(c.batchesStored + c.batchesDuplicate).toBe(c.batchesAccepted);
    expect(acks.length).toBe(c.acksPublished);
    const known = new Set([...Object.keys(ProtocolErrorCodes), ...Object.keys(IngesterErrorCodes)]);
    for (const code of Object.keys(c.rejected)) expect(known, code).toContain(code);
    expect(Object.keys(c.rejected)).toEqual(
      expect.arrayContaining([
        'ET_ERR_TRUNCATED',
        'ET_ERR_UNSUPPORTED_VERSION',
        'ET_ERR_NODE_MISMATCH',
        'ET_ERR_DECOMPRESSED_TOO_LARGE',
        'ET_ERR_UNKNOWN_TOPIC',
      ]),
    );
    expect(Object.keys(kinds).length).toBeGreaterThanOrEqual(15);

    // Every rejection is a dead letter with its reason, by the same code as the counter.
    const rs = await client.query({
      query: `SELECT ReasonCode, count() AS n, min(length(Detail)) AS shortest FROM ${TABLES.deadLetters} GROUP BY ReasonCode`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ ReasonCode: string; n: string | number; shortest: string | number }>();
    expect(Object.fromEntries(rows.map((r) => [r.ReasonCode, Number(r.n)]))).toEqual(c.rejected);
    for (const r of rows) expect(Number(r.shortest), r.ReasonCode).toBeGreaterThan(0);

    // Bounded: the 64 MiB bombs and every message leave no more than a little behind.
    await heap.expectWithin(96 * 1024 * 1024);
  }, 120_000);
});
