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
    expect(stored.every(Boolean)).toBe(true);
    const got = await rows('dl-flood');
    expect(got).toHaveLength(200);
    expect(Buffer.from(got.find((r) => r.Detail === 'case 7')!.PayloadBase64, 'base64').toString()).toBe('bytes 7');
    expect(inserts.count).toBeLessThanOrEqual(2);
  });

  it('drops rows while ClickHouse fails, says so, and stores again once it is back', async () => {
    const sink = createDeadLetterSink({ client, logger: quiet });
    faults.set('fail', /et_dead_letters/);
    expect(await sink.add(letter('dl-out', 1))).toBe(false);
    faults.set('ok');
    const later = sink.add(letter('dl-out', 2));
    await sink.drain();
    expect(await later).toBe(true);
    expect((await rows('dl-out')).map((r) => r.Detail)).toEqual(['case 2']);
  });

  it('bounds what waits behind a running insert, dropping what does not fit', async () => {
    // 'bytes N' is 12 base64 characters: three rows fit in 40, the fourth would not.
    const sink = createDeadLetterSink({ client, logger: quiet, maxQueueBytes: 40 });
    faults.set('stall', /et_dead_letters/);
    const first = sink.add(letter('dl-cap', 1));
    const waiting = [2, 3, 4, 5].map((i) => sink.add(letter('dl-cap', i)));
    faults.set('ok');
    expect(await first).toBe(true);
    expect(await Promise.all(waiting)).toEqual([true, true, true, false]);
    expect((await rows('dl-cap')).map((r) => r.Detail)).toEqual(['case 1', 'case 2', 'case 3', 'case 4']);
  });
});
