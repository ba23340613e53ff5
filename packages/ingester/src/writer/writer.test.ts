import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { batchToText } from '../storage/batch-text.js';
import { BATCH_TABLES, TABLES } from '../storage/tables.js';
import type { Logger } from '../logger.js';
import { sampleBatch } from '../../../../test/support/batches.js';
import {
  faultSwitch,
  insertTimeline,
  refuseRowsContaining,
  openMigrated,
  type EmbeddedClickHouse,
} from '../../../../test/support/clickhouse.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createWriter, type Writer } from './writer.js';
import { groupToken } from './batch-key.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const meta = () => ({ receivedAt: Date.now(), wireBytes: 1000, ingesterId: 'test' });
const settle = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then((v) => ({ done: true as const, v })),
    new Promise<{ done: false }>((r) => setTimeout(() => r({ done: false }), ms)),
  ]);

describe('writer on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  let client: ClickHouseClient;
  const faults = faultSwitch();
  const inserts = insertTimeline({ reads: true });
  let writer: Writer;
  const base = resolveConfig(undefined, {});

  const count = async (table: string, node: string) => {
    const rs = await client.query({
      query: `SELECT count() AS n FROM ${table} WHERE NodeName = {node:String}`,
      query_params: { node },
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ n: string }>())[0]?.n);
  };

  /** The token of a batch's group when it goes alone (its statements' queries carry it). */
  const aloneToken = (b: { node: string; epoch: number; seq: number }) =>
    groupToken([{ node: b.node, epoch: b.epoch, seq: b.seq }]);
  /** Submits `first` with its metrics insert held (faults), once its flush has reached that insert. */
  const submitHeld = async (w: Writer, first: ReturnType<typeof sampleBatch>) => {
    faults.refused = 0;
    faults.set('stall', new RegExp(`INSERT INTO ${TABLES.metrics} .*${aloneToken(first)}`));
    const one = w.submit(first, meta());
    await waitFor('the first flush to reach its metrics insert', () => faults.refused > 0);
    return { one };
  };

  beforeAll(async () => {
    engine = await openMigrated('writer', (c) => inserts.wrap(refuseRowsContaining('POISON-ROW')(faults.wrap(c))));
    client = engine.client;
  });
  beforeEach(() => {
    faults.set('ok');
    writer = createWriter({
      client,
      logger: quiet,
      options: { ...base.writer, flushIntervalMs: 20, retryMinMs: 10, retryMaxMs: 40, maxQueueBatches: 4 },
    });
  });
  afterAll(() => engine.close());

  it('coalesces batches from several nodes into one insert per table and stores every row', async () => {
    const batches = [
      sampleBatch({ node: 'w-a', seq: 1 }),
      sampleBatch({ node: 'w-a', seq: 2 }),
      sampleBatch({ node: 'w-b', seq: 1 }),
    ];
    const outcomes = await Promise.all(batches.map((b) => writer.submit(b, meta())));
    expect(outcomes).toEqual(['stored', 'stored', 'stored']);
    expect(writer.state().inserts).toBe(1);
    expect(await count(TABLES.metrics, 'w-a')).toBe(2 * batches[0]!.metrics.length);
    expect(await count(TABLES.logs, 'w-b')).toBe(batches[2]!.logs.length);
    expect(await count(TABLES.ledger, 'w-a')).toBe(2);
    await writer.close();
  });

  it('stores text with separators, quotes, escapes and non-Latin characters exactly, and times to the millisecond', async () => {
    const b = sampleBatch({ node: 'w-text', seq: 1 });
    const message = 'tab\there\nnew line \'single\' "double" back\\slash \u0000nul ü 日本 𝄞 \r\n';
    const log = { ...b.logs[0]!, ts: b.windowStart + 1, message, fields: { "k'ey\t": 'v\n"al"', ü: '𝄞' } };
    const template = { ...b.templates[0]!, samples: [{ ts: b.windowStart + 999, params: ["a'b", 'c\td', ''] }] };
    expect(await writer.submit({ ...b, logs: [log], templates: [template] }, meta())).toBe('stored');
    const rs = await client.query({
      query: `SELECT Body, LogAttributes, toUnixTimestamp64Milli(Timestamp) AS ts FROM ${TABLES.logs} WHERE NodeName = 'w-text'`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ Body: string; LogAttributes: Record<string, string>; ts: number | string }>();
    expect(row).toEqual({ Body: message, LogAttributes: log.fields, ts: expect.anything() });
    expect(Number(row!.ts)).toBe(log.ts);
    const ts = await client.query({
      query: `SELECT toUnixTimestamp64Milli(Samples[1].Timestamp) AS ts, Samples[1].Params AS params FROM ${TABLES.templates} WHERE NodeName = 'w-text'`,
      format: 'JSONEachRow',
    });
    const [t] = await ts.json<{ ts: number | string; params: string[] }>();
    expect({ ts: Number(t!.ts), params: t!.params }).toEqual(template.samples[0]);
    await writer.close();
  });

  it('answers a redelivered batch as a duplicate without storing it again', async () => {
    const b = sampleBatch({ node: 'w-dup', seq: 7 });
    expect(await writer.submit(b, meta())).toBe('stored');
    const [again, twice] = await Promise.all([writer.submit(b, meta()), writer.submit(b, meta())]);
    expect([again, twice]).toEqual(['duplicate', 'duplicate']);
    expect(await count(TABLES.metrics, 'w-dup')).toBe(b.metrics.length);
    expect(await count(TABLES.ledger, 'w-dup')).toBe(1);
    await writer.close();
  });

  it('holds acknowledgements and stops taking batches while ClickHouse is down, then recovers without loss', async () => {
    faults.set('fail');
    const batches = Array.from({ length: 5 }, (_, i) => sampleBatch({ node: 'w-out', seq: i + 1 }));
    const results = batches.map((b) => writer.submit(b, meta()));
    await waitFor('the writer failing', () => writer.state().failing, { timeoutMs: 60_000 });
    expect((await settle(Promise.all(results), 150)).done).toBe(false);
    const s = writer.state();
    expect(s.failing).toBe(true);
    expect(s.backpressured).toBe(true);
    expect(s.queuedBatches).toBe(5);
    expect((await settle(writer.waitForRoom(), 50)).done).toBe(false);
    faults.set('ok');
    expect(await Promise.all(results)).toEqual(batches.map(() => 'stored'));
    await writer.waitForRoom();
    expect(writer.state().backpressured).toBe(false);
    expect(await count(TABLES.ledger, 'w-out')).toBe(5);
    expect(await count(TABLES.metrics, 'w-out')).toBe(5 * batches[0]!.metrics.length);
    await writer.close();
  });

  it('retries a half-done flush with the same token so no row is stored twice', async () => {
    // Data tables accept, the ledger insert fails: the retry re-inserts the data tables too.
    faults.set('fail', /INSERT INTO et_batches/);
    const b = sampleBatch({ node: 'w-half', seq: 1 });
    let settled = false;
    const done = writer.submit(b, meta()).finally(() => (settled = true));
    // Waited for, not given a fixed time: on a loaded machine the flush may not have begun in 150 ms.
    await waitFor(
      'the data tables stored and the ledger insert refused',
      async () => faults.refused > 0 && (await count(TABLES.metrics, 'w-half')) === b.metrics.length,
      { timeoutMs: 60_000 },
    );
    expect(settled).toBe(false);
    faults.set('ok');
    expect(await done).toBe('stored');
    expect(await count(TABLES.metrics, 'w-half')).toBe(b.metrics.length);
    expect(await count(TABLES.logs, 'w-half')).toBe(b.logs.length);
    expect(await count(TABLES.ledger, 'w-half')).toBe(1);
    // The rollup view is fed only by the block that was stored, not by the deduplicated retry.
    const rs = await client.query({
      query: `SELECT sum(Count) AS n FROM ${TABLES.metricsHourly} WHERE NodeName = 'w-half'`,
      format: 'JSONEachRow',
    });
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(b.metrics.reduce((n, m) => n + m.count, 0));
    await writer.close();
  });

  it('refuses only the batch whose rows ClickHouse rejects, stores the rest of its group once, and keeps going', async () => {
    const batches = Array.from({ length: 4 }, (_, i) => sampleBatch({ node: 'w-ref', seq: i + 1 }));
    const poison = {
      ...batches[2]!,
      logs: batches[2]!.logs.map((l, i) => (i === 0 ? { ...l, message: 'POISON-ROW' } : l)),
    };
    const results = await Promise.allSettled(
      [batches[0]!, batches[1]!, poison, batches[3]!].map((b) => writer.submit(b, meta())),
    );
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code))).toEqual([
      'stored',
      'stored',
      'ET_ERR_STORAGE_REJECTED',
      'stored',
    ]);
    const s = writer.state();
    expect(s).toMatchObject({
      batchesStored: 3,
      batchesRefused: 1,
      failing: false,
      backpressured: false,
      queuedBatches: 0,
    });
    const rs = await client.query({
      query: `SELECT Seq FROM ${TABLES.ledger} WHERE NodeName = 'w-ref' ORDER BY Seq`,
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ Seq: number | string }>()).map((r) => Number(r.Seq))).toEqual([1, 2, 4]);
    expect(await count(TABLES.logs, 'w-ref')).toBe(3 * batches[0]!.logs.length);
    // Tables inserted before the refusal hold the whole group once, the refused batch's rows included.
    expect(await count(TABLES.metrics, 'w-ref')).toBe(4 * batches[0]!.metrics.length);
    expect(await writer.submit(sampleBatch({ node: 'w-ref', seq: 5 }), meta())).toBe('stored');
    // The node sends the refused batch again (its ack was lost): it is refused again, and its rows in
    // the other tables, stored with its first group, are not stored a second time.
    await expect(writer.submit(poison, meta())).rejects.toMatchObject({ code: 'ET_ERR_STORAGE_REJECTED' });
    expect(await count(TABLES.metrics, 'w-ref')).toBe(5 * batches[0]!.metrics.length);
    await writer.close();
  });

  it('inserts the data tables side by side and the ledger only once every one of them is in', async () => {
    const events = inserts.events;
    events.length = 0;
    const w = createWriter({ client, logger: quiet, options: { ...base.writer, flushIntervalMs: 20 } });
    const b = sampleBatch({ node: 'w-side', seq: 1 });
    expect(await w.submit(b, meta())).toBe('stored');
    const data = events.filter((e) => !/ et_batch(es|_claims)$|^read$/.test(e));
    // Several data tables, all started before the first of them ended: one round trip, not one each.
    const starts = data.filter((e) => e.startsWith('start'));
    expect(starts.length).toBeGreaterThan(3);
    expect(data.slice(0, starts.length)).toEqual(starts);
    // The ledger insert starts after the last data insert ended.
    expect(events.indexOf(`start ${TABLES.ledger}`)).toBeGreaterThan(
      Math.max(...data.map((_, i) => events.indexOf(data[i]!))),
    );
    await w.close();
  });

  it('claims a group before it reads anything, and reads once: the claim check says what is stored and whose the rest is', async () => {
    const events = inserts.events;
    events.length = 0;
    const w = createWriter({ client, logger: quiet, options: { ...base.writer, flushIntervalMs: 20 } });
    const batches = [1, 2, 3].map((seq) => sampleBatch({ node: 'w-claim-first', seq }));
    expect(await Promise.all(batches.map((b) => w.submit(b, meta())))).toEqual(['stored', 'stored', 'stored']);
    const begun = events.filter((e) => !e.startsWith('end'));
    expect(begun[0]).toBe(`start ${TABLES.claims}`);
    expect(begun.indexOf('read')).toBe(1);
    expect(begun.filter((e) => e === 'read')).toHaveLength(1);
    // A batch stored already is claimed again and answered by that one read, not inserted again.
    events.length = 0;
    expect(await w.submit(batches[1]!, meta())).toBe('duplicate');
    expect(events.filter((e) => e === 'read')).toHaveLength(1);
    expect(events.filter((e) => e.startsWith('start') && e !== `start ${TABLES.claims}`)).toEqual([]);
    expect(await count(TABLES.ledger, 'w-claim-first')).toBe(3);
    await w.close();
  });

  it('holds a batch that arrives during a flush for its next group, and starts only a full group beside it', async () => {
    const first = sampleBatch({ node: 'w-beside', seq: 1 });
    const later = [1, 2, 3].map((seq) => sampleBatch({ node: `w-next-${seq}`, seq }));
    // Two of the later batches make a full group (a table at flushRows), one does not.
    const rows = batchToText(later[0]!, meta()).rows;
    const flushRows = 2 * Math.max(...BATCH_TABLES.map((t) => rows[t]));
    const w = createWriter({
      client,
      logger: quiet,
      options: { ...base.writer, flushIntervalMs: 20, flushRows, concurrentFlushes: 2 },
    });
    // Only the first group's metrics insert is held (its token names its one batch).
    const token = groupToken([{ node: first.node, epoch: first.epoch, seq: first.seq }]);
    faults.refused = 0;
    faults.set('stall', new RegExp(`INSERT INTO ${TABLES.metrics} .*${token}`));
    let firstDone = false;
    const one = w.submit(first, meta()).finally(() => (firstDone = true));
    await waitFor('the first flush to reach its metrics insert', () => faults.refused > 0);
    const events = inserts.events;
    events.length = 0;
    const claims = () => events.filter((e) => e === `start ${TABLES.claims}`).length;
    // Not a full group: it waits for the running flush (no timer is set for it, so no wait can pass it).
    const second = w.submit(later[0]!, meta());
    expect((await settle(second, 200)).done).toBe(false);
    expect(claims()).toBe(0);
    // With the next one a full group waits: it starts beside the held flush, as one group.
    expect(await Promise.all([second, w.submit(later[1]!, meta())])).toEqual(['stored', 'stored']);
    expect(claims()).toBe(1);
    expect(firstDone).toBe(false);
    // Again one batch alone waits; once the held flush ends, the flush takes it.
    const third = w.submit(later[2]!, meta());
    expect((await settle(third, 200)).done).toBe(false);
    faults.set('ok');
    expect(await one).toBe('stored');
    expect(await third).toBe('stored');
    expect(claims()).toBe(2);
    expect(await count(TABLES.ledger, 'w-beside')).toBe(1);
    for (const b of later) expect(await count(TABLES.ledger, b.node)).toBe(1);
    expect(await count(TABLES.metrics, 'w-beside')).toBe(first.metrics.length);
    await w.close();
  });

  // Two flush loops run; a lone batch waits for them. The loop that ends first leaves it to the
  // other (it is not a full group), which takes it when it ends: whichever order they end in (the
  // interval, 20 ms, has passed by then: each flush was held far longer).
  for (const firstToEnd of ['the flush beside', 'the held flush'] as const)
    it(`takes a batch that waited for two flushes when the last of them ends (${firstToEnd} ending first)`, async () => {
      const tag = firstToEnd === 'the flush beside' ? 'b' : 'h';
      const first = sampleBatch({ node: `w-two-${tag}`, seq: 1 });
      const pair = [1, 2].map((seq) => sampleBatch({ node: `w-two-${tag}-${seq}`, seq }));
      const lone = sampleBatch({ node: `w-two-${tag}-lone`, seq: 1 });
      const rows = batchToText(pair[0]!, meta()).rows;
      const flushRows = 2 * Math.max(...BATCH_TABLES.map((t) => rows[t]));
      const w = createWriter({
        client,
        logger: quiet,
        options: { ...base.writer, flushIntervalMs: 20, flushRows, concurrentFlushes: 2 },
      });
      const metricsOf = (bs: typeof pair) =>
        `INSERT INTO ${TABLES.metrics} .*${groupToken(bs.map((b) => ({ node: b.node, epoch: b.epoch, seq: b.seq })))}`;
      const [held, beside] = [metricsOf([first]), metricsOf(pair)];
      faults.refused = 0;
      faults.set('stall', new RegExp(`${held}|${beside}`));
      const one = w.submit(first, meta());
      await waitFor('the first flush to reach its metrics insert', () => faults.refused > 0);
      const two = Promise.all(pair.map((b) => w.submit(b, meta())));
      await waitFor('the full group beside it to reach its metrics insert', () => faults.refused > 1);
      const last = w.submit(lone, meta());
      // Let one flush go on: released, the stalled inserts look again and only the other's stalls.
      faults.set('ok');
      faults.set('stall', new RegExp(firstToEnd === 'the flush beside' ? held : beside));
      if (firstToEnd === 'the flush beside') expect(await two).toEqual(['stored', 'stored']);
      else expect(await one).toBe('stored');
      expect((await settle(last, 200)).done).toBe(false);
      faults.set('ok');
      expect(await Promise.all([one, two, last])).toEqual(['stored', ['stored', 'stored'], 'stored']);
      for (const b of [first, ...pair, lone]) expect(await count(TABLES.ledger, b.node)).toBe(1);
      await w.close();
    });

  it('writes no ledger row while one data table fails, then stores the batch once when it recovers', async () => {
    faults.set('fail', /INSERT INTO et_logs /);
    const b = sampleBatch({ node: 'w-one-fails', seq: 1 });
    const done = writer.submit(b, meta());
    // The other tables took the rows; the ledger waits for the failing one.
    await waitFor('metrics stored while logs fail', async () => (await count(TABLES.metrics, 'w-one-fails')) > 0);
    await waitFor('the writer retries', () => faults.refused > 1);
    expect(await count(TABLES.ledger, 'w-one-fails')).toBe(0);
    expect(writer.state().failing).toBe(true);
    faults.set('ok');
    expect(await done).toBe('stored');
    expect(await count(TABLES.metrics, 'w-one-fails')).toBe(b.metrics.length);
    expect(await count(TABLES.logs, 'w-one-fails')).toBe(b.logs.length);
    expect(await count(TABLES.ledger, 'w-one-fails')).toBe(1);
    await writer.close();
  });

  it('inserts a batch that reaches an idle writer at once, and spaces the next flush by flushIntervalMs', async () => {
    const w = createWriter({ client, logger: quiet, options: { ...base.writer, flushIntervalMs: 600_000 } });
    // Stored without waiting the ten minutes: the writer was idle.
    expect(await w.submit(sampleBatch({ node: 'w-idle', seq: 1 }), meta())).toBe('stored');
    // A batch submitted while the flush still runs would go in its next group at once; past one
    // macrotask the flush has ended (its last steps after the answer are microtasks).
    await new Promise((r) => setImmediate(r));
    // The next waits for the interval since that flush started; close() flushes it. Told by its
    // group's statements, not by the answer's time: a flush issues its claims insert (the group's
    // token in its query) in the turn it starts, so one started at once or by a 0 ms timer would
    // be counted here before the 300 ms are up, however slow ClickHouse is.
    const nextBatch = sampleBatch({ node: 'w-idle', seq: 2 });
    faults.refused = 0;
    faults.set('stall', new RegExp(aloneToken(nextBatch)));
    const next = w.submit(nextBatch, meta());
    expect((await settle(next, 300)).done).toBe(false);
    expect(faults.refused).toBe(0);
    expect(w.state().queuedBatches).toBe(1);
    faults.set('ok');
    await w.close();
    expect(await next).toBe('stored');
    expect(await count(TABLES.ledger, 'w-idle')).toBe(2);
  });

  it('spaces a flush that follows a running one by flushIntervalMs too (the bound on inserts per table)', async () => {
    const w = createWriter({ client, logger: quiet, options: { ...base.writer, flushIntervalMs: 600_000 } });
    const first = sampleBatch({ node: 'w-spaced', seq: 1 });
    const { one } = await submitHeld(w, first);
    // Arrived during the flush: its group waits for the interval since that flush started, not only
    // for its end. The first's insert goes on; any statement of the next's group is counted (as above).
    const nextBatch = sampleBatch({ node: 'w-spaced', seq: 2 });
    const next = w.submit(nextBatch, meta());
    faults.set('ok');
    faults.refused = 0;
    faults.set('stall', new RegExp(aloneToken(nextBatch)));
    expect(await one).toBe('stored');
    expect((await settle(next, 300)).done).toBe(false);
    expect(faults.refused).toBe(0);
    faults.set('ok');
    await w.close();
    expect(await next).toBe('stored');
    expect(await count(TABLES.ledger, 'w-spaced')).toBe(2);
  });

  it('a flush loop that ends before flushIntervalMs has passed leaves what arrived meanwhile to its timer, no close needed', async () => {
    // The writer's clock stands still: the loop never sees the interval passed, so only the timer
    // its end sets (flushLoop's finally) can take the batch that arrived during its flush.
    const w = createWriter({ client, logger: quiet, now: () => 0, options: { ...base.writer, flushIntervalMs: 1000 } });
    const first = sampleBatch({ node: 'w-leftover', seq: 1 });
    const { one } = await submitHeld(w, first);
    const next = w.submit(sampleBatch({ node: 'w-leftover', seq: 2 }), meta());
    faults.set('ok');
    expect(await one).toBe('stored');
    let stored: string | undefined;
    void next.then((o) => (stored = o));
    await waitFor('the leftover batch stored by the timer', () => stored !== undefined);
    expect(stored).toBe('stored');
    expect(await count(TABLES.ledger, 'w-leftover')).toBe(2);
    await w.close();
  });

  it('stalled ClickHouse: nothing resolves until the connection moves again', async () => {
    faults.set('stall', /INSERT/);
    const done = writer.submit(sampleBatch({ node: 'w-stall', seq: 1 }), meta());
    expect((await settle(done, 150)).done).toBe(false);
    faults.set('ok');
    expect(await done).toBe('stored');
    await writer.close();
  });
});
