/**
 * A pull's stored lines are read back in bounded parts: by the API's line streams and by the digest
 * when it is finished from ClickHouse. A node's chunk may decode to 4 MiB of lines, and reads of 64
 * chunks at a time made one read of a pull up to 256 MiB of strings (a 173 MB pull took the
 * ingester from 473 to 721 MB; outsider, session 13). Here the real coordinator on the embedded
 * engine gets chunks of 512 KiB; every statement that reads lines is recorded with its chunk range.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePull } from '@edge-telemetry/protocol';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createPullCoordinator, type PullCoordinator } from './coordinator.js';
import { pullCoordinatorOptions } from './options.js';
import { loadPull } from './repository.js';

const NODE = 'gw-big';
const TERMINAL = new Set(['done', 'failed', 'expired', 'cancelled']);
const CHUNKS = 24;
const LINES_PER_CHUNK = 512;
/** Raw line bytes of one chunk: 512 KiB less the newlines. */
const CHUNK_TEXT = LINES_PER_CHUNK * 1023;
/** What a read may hold: the coordinator's 1 MiB of whole chunks, or one chunk alone when larger. */
const READ_BOUND = 1024 * 1024 + CHUNK_TEXT;

const chunkLines = (seq: number): string[] =>
  Array.from({ length: LINES_PER_CHUNK }, (_, i) => `${seq}:${i}:`.padEnd(1023, 'x'));

describe('reading a pull back from ClickHouse', () => {
  let ch: EmbeddedClickHouse;
  /** [fromSeq, toSeq) of every statement that read pulled lines' text, and its pull. */
  const reads: [number, number, string][] = [];
  /** The pulls whose stored chunk numbers were asked of ClickHouse, in order. */
  const seqLookups: string[] = [];
  const start = Date.UTC(2026, 11, 7, 4);
  beforeAll(async () => {
    ch = await openMigrated('pull-reads', (inner) => ({
      ping: (p) => inner.ping(p),
      query: (p) => {
        if (p.query.startsWith('SELECT Line FROM')) {
          const q = p.query_params as { from: number; to: number; id: string };
          reads.push([q.from, q.to, q.id]);
        }
        if (p.query.startsWith('SELECT DISTINCT Seq')) seqLookups.push((p.query_params as { id: string }).id);
        return inner.query(p);
      },
      insert: (p) => inner.insert(p),
      exec: (p) => inner.exec(p),
      command: (p) => inner.command(p),
      close: () => inner.close(),
    }));
  }, 60_000);
  afterAll(async () => {
    await ch?.close();
  });

  const coordinatorWith = (maxReorderBytes: number, ingesterId = 'ingester-a'): PullCoordinator =>
    createPullCoordinator({
      client: ch.client,
      publish: async () => undefined,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      options: pullCoordinatorOptions({ maxReorderBytes }),
      audit: { record: async () => undefined },
      ingesterId,
      nodes: { describe: async () => ({ known: true, capabilities: undefined }) },
    });

  const requested = async (c: PullCoordinator): Promise<string> =>
    (await c.create({ node: NODE, filter: { since: start - 3_600_000 }, actor: undefined, remoteAddress: '127.0.0.1' }))
      .id;
  const send = (c: PullCoordinator, id: string, seq: number) =>
    c.handle(NODE, id, encodePull({ v: 1, type: 'chunk', node: NODE, pullId: id, seq, lines: chunkLines(seq) }));

  /** Pull `id` answered with its chunks in `order` (after any sent before), then its end; resolves when it is done. */
  async function answered(c: PullCoordinator, id: string, order: number[]): Promise<void> {
    const hash = createHash('sha256');
    for (let s = 0; s < CHUNKS; s++) hash.update(chunkLines(s).join('\n') + '\n');
    for (const seq of order) await send(c, id, seq);
    const end = { chunks: CHUNKS, lines: CHUNKS * LINES_PER_CHUNK, bytes: CHUNKS * CHUNK_TEXT };
    await c.handle(
      NODE,
      id,
      encodePull({ v: 1, type: 'end', node: NODE, pullId: id, ...end, digest: hash.digest('hex') }),
    );
    // Its state row stored: no statement of the pull is left running when the engine closes.
    await waitFor(`pull ${id} stored as finished`, async () =>
      TERMINAL.has((await loadPull(ch.client, id))?.state ?? ''),
    );
    expect((await c.get(id))?.state).toBe('done');
  }
  const pullAnswered = async (c: PullCoordinator, order: number[]): Promise<string> => {
    const id = await requested(c);
    await answered(c, id, order);
    return id;
  };
  const inOrder = [...Array(CHUNKS).keys()];

  const readBytes = ([from, to]: [number, number, string]) => (to - from) * CHUNK_TEXT;

  it('reads the lines for a reader in parts of about 1 MiB, in order and each line once', async () => {
    const c = coordinatorWith(16 * 1024 * 1024);
    try {
      const id = await pullAnswered(c, inOrder);
      reads.length = 0;
      // As the API's line stream reads: from where the last read stopped.
      const got: string[] = [];
      for (let seq = 0; seq < CHUNKS;) {
        const r = await c.readLines(id, seq, Math.min(CHUNKS, seq + 64));
        got.push(...r.lines);
        expect(r.toSeq).toBeGreaterThan(seq);
        seq = r.toSeq;
      }
      expect(got).toEqual(Array.from({ length: CHUNKS }, (_, s) => chunkLines(s)).flat());
      expect(reads.length).toBeGreaterThan(1);
      for (const r of reads) expect(readBytes(r)).toBeLessThanOrEqual(READ_BOUND);
    } finally {
      c.close();
    }
  }, 120_000);

  it('finishes the digest from ClickHouse in the same bounded parts', async () => {
    // No reorder room: chunks that come last first leave the digest to be read back at the end.
    const c = coordinatorWith(0);
    try {
      reads.length = 0;
      await pullAnswered(c, [...inOrder].reverse());
      expect(reads.length).toBeGreaterThan(1);
      for (const r of reads) expect(readBytes(r)).toBeLessThanOrEqual(READ_BOUND);
    } finally {
      c.close();
    }
  }, 120_000);

  it('holds out-of-order text within maxReorderBytes for all pulls together, not per pull', async () => {
    // Room for one early chunk, not two: the second pull to hold one finishes its digest from ClickHouse.
    const c = coordinatorWith(CHUNK_TEXT + CHUNK_TEXT / 2);
    try {
      const [a, b] = [await requested(c), await requested(c)];
      const stored = c.counters().chunksStored;
      await send(c, a, 1);
      await send(c, b, 1);
      await waitFor('both early chunks stored', () => c.counters().chunksStored === stored + 2);
      // Its text let go for memory, b is still read from what this ingester knows, not looked up
      // in ClickHouse at each reader's turn (a line stream asks at every chunk).
      seqLookups.length = 0;
      expect((await c.progress(b))?.contiguous).toBe(0);
      expect(seqLookups).toEqual([]);
      reads.length = 0;
      await answered(
        c,
        a,
        inOrder.filter((s) => s !== 1),
      );
      await answered(
        c,
        b,
        inOrder.filter((s) => s !== 1),
      );
      expect(reads.filter((r) => r[2] === a)).toEqual([]);
      expect(reads.filter((r) => r[2] === b).length).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  }, 120_000);

  it('answers the readers of a pull another ingester runs with one lookup, not one each', async () => {
    // Follow streams on a replica ask for progress every second each; it used to be a lookup over
    // the pull's stored lines per stream and second.
    const [a, b] = [coordinatorWith(16 * 1024 * 1024), coordinatorWith(16 * 1024 * 1024, 'ingester-b')];
    try {
      const id = await requested(a);
      const stored = a.counters().chunksStored;
      for (const seq of [0, 1, 2]) await send(a, id, seq);
      await waitFor('three chunks stored', () => a.counters().chunksStored === stored + 3);
      // Its running state stored too: no statement of it is left in flight when the engine closes.
      await waitFor('its state row running', async () => (await loadPull(ch.client, id))?.state === 'running');
      seqLookups.length = 0;
      const seen = await Promise.all(Array.from({ length: 20 }, () => b.progress(id)));
      expect(seen.map((p) => p?.contiguous)).toEqual(Array(20).fill(3));
      expect(seqLookups).toEqual([id]);
    } finally {
      a.close();
      b.close();
    }
  }, 120_000);
});
