import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../storage/tables.js';
import type { Logger } from '../logger.js';
import {
  faultSwitch,
  insertCounter,
  openMigrated,
  type EmbeddedClickHouse,
} from '../../../../test/support/clickhouse.js';
import { createDeadLetterSink } from './dead-letters.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const letter = (node: string, i: number) => ({
  receivedAt: Date.now(),
  topic: `et/v1/${node}/up/batch`,
  node,
  code: 'ET_ERR_BAD_FRAME',
  detail: `case ${i}`,
  payload: Buffer.from(`bytes ${i}`),
  ingesterId: 'test',
});

describe('dead-letter sink on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  let client: ClickHouseClient;
  const faults = faultSwitch();
  const inserts = insertCounter(TABLES.deadLetters);

  const rows = async (node: string) => {
    const rs = await client.query({
      query: `SELECT Detail, PayloadBase64 FROM ${TABLES.deadLetters} WHERE NodeName = {node:String} ORDER BY Detail`,
      query_params: { node },
      format: 'JSONEachRow',
    });
    return rs.json<{ Detail: string; PayloadBase64: string }>();
  };

  beforeAll(async () => {
    engine = await openMigrated('dead', (c) => inserts.wrap(faults.wrap(c)));
    client = engine.client;
  });
  afterAll(() => engine.close());

  it('stores a flood of rejections in a few inserts, every row with its payload', async () => {
    const sink = createDeadLetterSink({ client, logger: quiet });
    inserts.reset();
    const stored = await Promise.all(Array.from({ length: 200 }, (_, i) => sink.add(letter('dl-flood', i))));
    expect(stored.every((s) => s === 'stored')).toBe(true);
    const got = await rows('dl-flood');
    expect(got).toHaveLength(200);
    expect(Buffer.from(got.find((r) => r.Detail === 'case 7')!.PayloadBase64, 'base64').toString()).toBe('bytes 7');
    expect(inserts.count).toBeLessThanOrEqual(2);
  });

  it('drops rows while ClickHouse fails, says so, and stores again once it is back', async () => {
    const sink = createDeadLetterSink({ client, logger: quiet });
    faults.set('fail', /et_dead_letters/);
    expect(await sink.add(letter('dl-out', 1))).toBe('dropped');
    faults.set('ok');
    const later = sink.add(letter('dl-out', 2));
    await sink.drain();
    expect(await later).toBe('stored');
    expect((await rows('dl-out')).map((r) => r.Detail)).toEqual(['case 2']);
  });

  it('bounds what waits behind a running insert, dropping what does not fit', async () => {
    // A row counts 61 bytes (12 of base64 payload, 21 of topic, 6 of detail, 6 of node, 16 of code):
    // three fit in 190, the fourth would not.
    const sink = createDeadLetterSink({ client, logger: quiet, maxQueueBytes: 190 });
    faults.set('stall', /et_dead_letters/);
    const first = sink.add(letter('dl-cap', 1));
    const waiting = [2, 3, 4, 5].map((i) => sink.add(letter('dl-cap', i)));
    faults.set('ok');
    expect(await first).toBe('stored');
    expect(await Promise.all(waiting)).toEqual(['stored', 'stored', 'stored', 'dropped']);
    expect((await rows('dl-cap')).map((r) => r.Detail)).toEqual(['case 1', 'case 2', 'case 3', 'case 4']);
  });

  it("keeps a payload's first 4 KiB, its size and sha256, and stops at the node's allowance", async () => {
    let allowed = 3 * 6000;
    const sink = createDeadLetterSink({
      client,
      logger: quiet,
      allowance: (_node, bytes) => (allowed -= bytes) >= 0,
    });
    const big = Buffer.alloc(1024 * 1024, 9);
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await sink.add({ ...letter('dl-big', i), payload: big }));
    await sink.drain();
    expect(outcomes).toEqual(['stored', 'stored', 'stored', 'over-quota', 'over-quota']);
    const rs = await client.query({
      query: `SELECT length(PayloadBase64) AS b64, PayloadBytes, PayloadSha256 FROM ${TABLES.deadLetters} WHERE NodeName = 'dl-big'`,
      format: 'JSONEachRow',
    });
    const got = await rs.json<{ b64: number; PayloadBytes: number; PayloadSha256: string }>();
    expect(got.map((r) => [Number(r.b64), Number(r.PayloadBytes)])).toEqual(Array(3).fill([5464, big.length]));
    expect(got[0]!.PayloadSha256).toBe(createHash('sha256').update(big).digest('hex'));
  });
});
