import { appendFile, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LogLevel } from '@edge-telemetry/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogStore, type LogQuery } from './log-store.js';
import { logStoreOptions } from './options.js';
import type { StoredLogRecord } from './record-codec.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (ts: number, container: string, line: string, level: number = LogLevel.info): StoredLogRecord => ({
  ts,
  container,
  stream: 'stdout',
  level: level as StoredLogRecord['level'],
  line,
});
async function all(store: LogStore, q: LogQuery): Promise<StoredLogRecord[]> {
  const out: StoredLogRecord[] = [];
  for await (const r of store.query(q)) out.push(r);
  return out;
}

describe('LogStore', () => {
  it('stores lines compressed and answers queries by container, time, level, text and tail in time order', async () => {
    const store = await LogStore.open(logStoreOptions({ dir, blockBytes: 1024, segmentBytes: 8192 }));
    // Out of order across containers, as lines arrive from several files; an incompressible tail
    // so that the lines fill several segments.
    let seed = 7;
    const noise = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31).toString(36);
    for (let i = 0; i < 600; i++) {
      const text = `line ${i} ${i % 50 === 0 ? 'ERROR boom' : 'ok'}`;
      store.append({
        ...rec(
          1000 + i * 10 + (i % 2 === 0 ? 5 : 0),
          i % 2 === 0 ? 'web' : 'db',
          text,
          i % 50 === 0 ? LogLevel.error : LogLevel.info,
        ),
        line: `${text} ~${noise()}${noise()}${noise()}`,
      });
    }
    await store.flush();
    expect(store.stats().segments).toBeGreaterThan(1);
    expect(store.stats().records).toBe(600);
    const web = await all(store, { container: 'web', since: 2000, until: 3000 });
    expect(web.length).toBe(50);
    expect(web.every((r) => r.container === 'web' && r.ts >= 2000 && r.ts < 3000)).toBe(true);
    const everything = await all(store, { since: 0 });
    expect(everything.map((r) => r.ts)).toEqual([...everything.map((r) => r.ts)].sort((a, b) => a - b));
    const cut = (rs: StoredLogRecord[]) => rs.map((r) => r.line.slice(0, r.line.indexOf(' ~')));
    expect(cut(await all(store, { since: 0, level: LogLevel.error }))).toEqual(
      Array.from({ length: 12 }, (_, k) => `line ${k * 50} ERROR boom`),
    );
    expect(cut(await all(store, { since: 0, grep: /line 59\d /, tail: 3 }))).toEqual([
      'line 597 ok',
      'line 598 ok',
      'line 599 ok',
    ]);
    store.append(rec(99_999, 'web', 'not yet flushed'));
    expect((await all(store, { since: 99_000 })).map((r) => r.line)).toEqual(['not yet flushed']);
    await store.close();
    const reopened = await LogStore.open(logStoreOptions({ dir }));
    expect(reopened.stats().records).toBe(601);
    await reopened.close();
  });

  it('answers a query pinned at a position with the lines stored before it, across segments and a restart', async () => {
    const opts = logStoreOptions({ dir, blockBytes: 1024, segmentBytes: 8192 });
    let store = await LogStore.open(opts);
    let seed = 3;
    const noise = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31).toString(36);
    for (let i = 0; i < 300; i++) store.append(rec(1000 + i * 10, 'a', `early ${i} ${noise()}${noise()}`));
    // Some lines not yet in a block: pin() seals them first.
    const pin = await store.pin();
    const q = { since: 0, until: 10_000 };
    const before = await all(store, q);
    expect(before).toHaveLength(300);
    // Later lines with times inside the range, enough to roll into new segments.
    for (let i = 0; i < 300; i++) store.append(rec(1005 + i * 10, 'a', `late ${i} ${noise()}${noise()}`));
    await store.flush();
    expect((await store.pin()).segment).toBeGreaterThan(pin.segment);
    expect(await all(store, q)).toHaveLength(600);
    expect(await all(store, { ...q, before: pin })).toEqual(before);
    expect(await all(store, { ...q, before: pin, tail: 10 })).toEqual(before.slice(-10));
    await store.close();
    store = await LogStore.open(opts);
    expect(await all(store, { ...q, before: pin })).toEqual(before);
    await store.close();
  });

  it('evicts the oldest segments at the byte cap and counts them', async () => {
    const store = await LogStore.open(logStoreOptions({ dir, maxBytes: 65536, segmentBytes: 8192, blockBytes: 2048 }));
    let seed = 1;
    const noise = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31).toString(36);
    for (let i = 0; i < 5000; i++) store.append(rec(i, 'c', `${i} ${noise()} ${noise()} ${noise()}`));
    await store.flush();
    const s = store.stats();
    expect(s.bytes).toBeLessThanOrEqual(65536);
    expect(s.evictedSegments).toBeGreaterThan(0);
    expect(s.evictedRecords + s.records).toBe(5000);
    const files = await readdir(dir);
    expect(files.length).toBe(s.segments);
    const kept = await all(store, { since: 0 });
    expect(kept.length).toBe(s.records);
    expect(kept[kept.length - 1]?.ts).toBe(4999);
    await store.close();
  });

  it('cuts off a torn or corrupt tail at open, reports it, and keeps accepting writes', async () => {
    const store = await LogStore.open(logStoreOptions({ dir, blockBytes: 1024 }));
    for (let i = 0; i < 100; i++) store.append(rec(i, 'c', `good ${i}`));
    await store.close();
    const seg = path.join(dir, (await readdir(dir))[0] as string);
    const good = (await stat(seg)).size;
    // A block torn in the middle of its write, then garbage.
    await appendFile(seg, Buffer.from([0x45, 0x54, 0x4c, 0x42, 0xff, 0x00, 0x00, 0x00, 1, 2, 3]));
    const s2 = await LogStore.open(logStoreOptions({ dir }));
    expect(s2.stats().recoveries).toEqual([{ segment: path.basename(seg), offset: good, bytesCut: 11 }]);
    expect((await all(s2, { since: 0 })).length).toBe(100);
    s2.append(rec(500, 'c', 'after recovery'));
    await s2.close();
    // A bit flip inside the last block is caught by its CRC: that block is cut, earlier ones stay.
    await truncate(seg, (await stat(seg)).size - 3);
    const s3 = await LogStore.open(logStoreOptions({ dir }));
    expect(s3.stats().recoveries).toHaveLength(1);
    const lines = (await all(s3, { since: 0 })).map((r) => r.line);
    expect(lines).toHaveLength(100);
    expect(lines).not.toContain('after recovery');
    await s3.close();
  });
});
