import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  faultSwitch,
  insertCounter,
  openMigrated,
  type EmbeddedClickHouse,
} from '../../../../test/support/clickhouse.js';
import { TABLES } from '../storage/tables.js';
import { createReferenceStore, FOLLOW_LAG_MS, FOLLOW_MAX_BACK_MS } from './store.js';

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
    await a.put('f-back', 5, 2, Buffer.from('long ago'));
    // b looks again only after longer than the bound: the keyframe is older than what it reads.
    t += FOLLOW_MAX_BACK_MS + FOLLOW_LAG_MS + 1000;
    await b.catchUp();
    expect(b.stats()).toMatchObject({ followed: 0 });
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
});
