import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  faultSwitch,
  insertCounter,
  openMigrated,
  type EmbeddedClickHouse,
} from '../../../../test/support/clickhouse.js';
import { TABLES } from '../storage/tables.js';
import { createReferenceStore, FOLLOW_LAG_MS, FOLLOW_MAX_BACK_MS, FOLLOW_PAGE_ROWS, WARMUP_BACK_MS } from './store.js';

const DAY = 86_400_000;

describe('reference store on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  let client: ClickHouseClient;
  const faults = faultSwitch();
  const inserts = insertCounter(TABLES.references);
  beforeAll(async () => {
    engine = await openMigrated('refs', (c) => inserts.wrap(faults.wrap(c)));
    client = engine.client;
  });
  afterAll(() => engine.close());

  it('serves bodies from its cache, and from ClickHouse to another ingester or after eviction', async () => {
    const a = createReferenceStore({ client, cacheBytes: 10 });
    const body = (n: number) => Buffer.from(`body-${n}`);
    await a.put('n1', 1, 4, body(4));
    await a.put('n1', 1, 8, body(8));
    // 10 bytes hold one body: seq 4 was evicted from a's cache and comes back from the table.
    expect(await a.get('n1', 1, [4, 8])).toEqual([body(4), body(8)]);
    expect(a.stats()).toMatchObject({ hits: 1, misses: 1 });
    const b = createReferenceStore({ client, cacheBytes: 1 << 20 });
    expect(await b.get('n1', 1, [8])).toEqual([body(8)]);
    expect(await b.get('n1', 1, [8, 9])).toBeUndefined();
    expect(await b.get('n1', 2, [8])).toBeUndefined();
    expect(await b.get('n2', 1, [8])).toBeUndefined();
  });

  it("reads the references of many nodes' batches that miss together in one ClickHouse read", async () => {
    const a = createReferenceStore({ client, cacheBytes: 1 << 20 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => a.put(`c${i}`, 2, 12, Buffer.from(`kf-${i}`))));
    // Another ingester: every reference is a miss. The gets made together share one read, and
    // each gets its own bodies; a reference found nowhere is answered undefined, the others not.
    const b = createReferenceStore({ client, cacheBytes: 1 << 20 });
    const got = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => b.get(`c${i}`, 2, [12])),
      b.get('c7', 2, [12, 13]),
      b.get("c'quote", 2, [12]),
    ]);
    expect(got.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => [Buffer.from(`kf-${i}`)]));
    expect(got.slice(50)).toEqual([undefined, undefined]);
    expect(b.stats()).toMatchObject({ hits: 0, misses: 53, reads: 1 });
    // A failed read rejects every get that waited for it; the next read serves again.
    const c = createReferenceStore({ client, cacheBytes: 1 << 20 });
    faults.set('fail', new RegExp(TABLES.references));
    const failed = await Promise.allSettled([c.get('c1', 2, [12]), c.get('c2', 2, [12])]);
    faults.set('ok');
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await c.get('c1', 2, [12])).toEqual([Buffer.from('kf-1')]);
  });

  it('reads keys with quotes and backslashes in their names; an epoch past the column finds nothing', async () => {
    // Escaped for JSON and for SQL on the way into the one literal of the keys.
    const names = [`q'"\\1`, `q\\'2`, 'q3'];
    const a = createReferenceStore({ client, cacheBytes: 1 << 20 });
    for (const [i, node] of names.entries()) await a.put(node, 3, 5, Buffer.from(`odd-${i}`));
    const b = createReferenceStore({ client, cacheBytes: 1 << 20 });
    const got = await Promise.all([...names.map((node) => b.get(node, 3, [5])), b.get('q3', 2 ** 33 + 3, [5])]);
    expect(got).toEqual([[Buffer.from('odd-0')], [Buffer.from('odd-1')], [Buffer.from('odd-2')], undefined]);
    expect(b.stats()).toMatchObject({ misses: 4, reads: 1 });
  });

  it('reads ahead the keyframes another ingester stored since it last looked, so a batch needing them reads nothing', async () => {
    const a = createReferenceStore({ client, cacheBytes: 1 << 20 });
    const b = createReferenceStore({ client, cacheBytes: 1 << 20 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.put(`f${i}`, 3, 2, Buffer.from(`ahead-${i}`))));
    expect(await b.catchUp()).toBeGreaterThanOrEqual(20);
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => b.get(`f${i}`, 3, [2])));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => [Buffer.from(`ahead-${i}`)]));
    expect(b.stats()).toMatchObject({ hits: 20, misses: 0, reads: 0 });
    // The next look reads what was stored since (and within the lag, nothing it holds already).
    await a.put('f-late', 3, 4, Buffer.from('later'));
    expect(await b.catchUp()).toBe(1);
    expect(await b.get('f-late', 3, [4])).toEqual([Buffer.from('later')]);
    expect(b.stats()).toMatchObject({ misses: 0, reads: 0 });
    // ClickHouse away: the look fails, and the next one reads from the same point.
    await a.put('f-outage', 3, 6, Buffer.from('during'));
    faults.set('fail', new RegExp(TABLES.references));
    await expect(b.catchUp()).rejects.toThrow();
    faults.set('ok');
    expect(await b.catchUp()).toBe(1);
    expect(await b.get('f-outage', 3, [6])).toEqual([Buffer.from('during')]);
    expect(b.stats()).toMatchObject({ misses: 0, reads: 0 });
  });

  it('reads ahead at most FOLLOW_MAX_BACK_MS, however long since it last looked; the rest is read on a miss', async () => {
    let t = Date.now();
    const now = () => t;
    const a = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    const b = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    // b's first look (its warm-up) is over before the keyframe is stored.
    await b.catchUp();
    const warm = b.stats().followed;
    await a.put('f-back', 5, 2, Buffer.from('long ago'));
    // b looks again only after longer than the bound: the keyframe is older than what it reads.
    t += FOLLOW_MAX_BACK_MS + FOLLOW_LAG_MS + 1000;
    await b.catchUp();
    expect(b.stats()).toMatchObject({ followed: warm });
    expect(await b.get('f-back', 5, [2])).toEqual([Buffer.from('long ago')]);
    expect(b.stats()).toMatchObject({ misses: 1, reads: 1 });
  });

  it('keeps a bounded share per node: a keyframe 256 seqs newer replaces an old one at the next merge', async () => {
    const a = createReferenceStore({ client, cacheBytes: 0 });
    // A background merge may replace the old keyframe at any moment (CI saw it once between the put
    // and the get); merges stay off until the old one has been seen, then one is forced.
    await client.command({ query: `SYSTEM STOP MERGES ${TABLES.references}` });
    try {
      await a.put('n3', 1, 5, Buffer.from('old'));
      await a.put('n3', 1, 5 + 256, Buffer.from('new'));
      expect(await a.get('n3', 1, [5])).toEqual([Buffer.from('old')]);
    } finally {
      await client.command({ query: `SYSTEM START MERGES ${TABLES.references}` });
    }
    await client.command({ query: `OPTIMIZE TABLE ${TABLES.references} FINAL` });
    expect(await a.get('n3', 1, [5])).toBeUndefined();
    expect(await a.get('n3', 1, [261])).toEqual([Buffer.from('new')]);
  });

  it('stores the keyframes of many nodes arriving together in a few inserts, and refuses a put ClickHouse did not take', async () => {
    const a = createReferenceStore({ client, cacheBytes: 0 });
    inserts.reset();
    await Promise.all(Array.from({ length: 100 }, (_, i) => a.put(`g${i}`, 1, 7, Buffer.from(`kf-${i}`))));
    expect(inserts.count).toBeGreaterThanOrEqual(1);
    expect(inserts.count).toBeLessThanOrEqual(2);
    const b = createReferenceStore({ client, cacheBytes: 0 });
    expect(await b.get('g42', 1, [7])).toEqual([Buffer.from('kf-42')]);
    expect(await b.get('g99', 1, [7])).toEqual([Buffer.from('kf-99')]);
    faults.set('fail', new RegExp(TABLES.references));
    await expect(a.put('g-out', 1, 1, Buffer.from('x'))).rejects.toThrow(/not stored/);
    faults.set('ok');
    await a.put('g-out', 1, 1, Buffer.from('x'));
    expect(await b.get('g-out', 1, [1])).toEqual([Buffer.from('x')]);
  });

  // The cases below store keyframes at days ahead of the wall clock (each its own day), so that
  // the reads ahead of one see none of another's: a look reads everything stored after its start.

  it('reads ahead in pages: more keyframes than a page, stored since the last look, all arrive', async () => {
    let t = Date.now() + DAY;
    const now = () => t;
    const a = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    const b = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    const many = FOLLOW_PAGE_ROWS * 2 + 50;
    const put = (tag: string) =>
      Promise.all(
        Array.from({ length: many }, (_, i) => a.put(`p${i}`, 1, tag === 'w' ? 1 : 2, Buffer.from(`${tag}${i}`))),
      );
    await put('w');
    t += 1000;
    // The warm-up, newest first, and the next look, oldest first: each over three pages.
    expect(await b.catchUp()).toBe(many);
    t += 1000;
    await put('f');
    t += 1000;
    expect(await b.catchUp()).toBe(many);
    const got = await Promise.all(Array.from({ length: many }, (_, i) => b.get(`p${i}`, 1, [1, 2])));
    expect(got).toEqual(Array.from({ length: many }, (_, i) => [Buffer.from(`w${i}`), Buffer.from(`f${i}`)]));
    expect(b.stats()).toMatchObject({ misses: 0, reads: 0, followDropped: 0 });
  });

  it('reads ahead only into the room batches leave: past the bound it gives up its oldest unused keyframes, never a used one', async () => {
    let t = Date.now() + 2 * DAY;
    const now = () => t;
    const body = (tag: string, i: number) => Buffer.from(`${tag}-${String(i).padStart(2, '0')}`.padEnd(100, '.'));
    const a = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    // Room for ten bodies: five are b's own (used), five are left for reading ahead.
    const b = createReferenceStore({ client, cacheBytes: 1000, now });
    await b.catchUp();
    for (let i = 0; i < 5; i++) await b.put('own', 1, i, body('own', i));
    t += 1000;
    // Another ingester's ten, one at a time so that their StoredAt orders them.
    for (let i = 0; i < 10; i++) {
      await a.put('other', 1, i, body('other', i));
      t += 10;
    }
    t += 1000;
    expect(await b.catchUp()).toBe(10);
    expect(b.stats()).toMatchObject({ followDropped: 5 });
    expect(b.stats().cachedBytes).toBeLessThanOrEqual(1000);
    // Its own and the five newest read ahead are here; the five oldest are read on a miss.
    expect(await b.get('own', 1, [0, 1, 2, 3, 4])).toEqual([0, 1, 2, 3, 4].map((i) => body('own', i)));
    expect(await b.get('other', 1, [5, 6, 7, 8, 9])).toEqual([5, 6, 7, 8, 9].map((i) => body('other', i)));
    expect(b.stats()).toMatchObject({ misses: 0, reads: 0 });
    expect(await b.get('other', 1, [0])).toEqual([body('other', 0)]);
    expect(b.stats()).toMatchObject({ misses: 1, reads: 1 });
  });

  it('warms up at its first look on the newest keyframes of the last WARMUP_BACK_MS, up to half its cache', async () => {
    let t = Date.now() + 3 * DAY;
    const now = () => t;
    const body = (i: number) => Buffer.from(`warm-${String(i).padStart(2, '0')}`.padEnd(100, '.'));
    const a = createReferenceStore({ client, cacheBytes: 1 << 20, now });
    await a.put('too-old', 1, 1, body(99));
    t += WARMUP_BACK_MS + 1000;
    for (let i = 0; i < 8; i++) {
      await a.put('warm', 1, i, body(i));
      t += 10;
    }
    // A restarted ingester with room for ten bodies: the warm-up takes five, the newest.
    const b = createReferenceStore({ client, cacheBytes: 1000, now });
    expect(await b.catchUp()).toBe(5);
    expect(await b.get('warm', 1, [3, 4, 5, 6, 7])).toEqual([3, 4, 5, 6, 7].map(body));
    expect(b.stats()).toMatchObject({ misses: 0, reads: 0, followDropped: 0 });
    expect(await b.get('warm', 1, [2])).toEqual([body(2)]);
    expect(await b.get('too-old', 1, [1])).toEqual([body(99)]);
    expect(b.stats()).toMatchObject({ misses: 2, reads: 2 });
  });
});
