import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBatch } from '../../../../test/support/batches.js';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { batchToText } from './batch-text.js';
import { insertText } from './insert.js';
import { TABLES } from './tables.js';

const meta = { receivedAt: Date.now(), wireBytes: 1, ingesterId: 'test' };

describe('insert text on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  let client: ClickHouseClient;
  beforeAll(async () => {
    engine = await openMigrated('insert-text');
    client = engine.client;
  });
  afterAll(() => engine.close());

  it('stores every row of several batches whose texts separate their rows by commas, one body', async () => {
    const a = sampleBatch({ node: 'txt-a', seq: 1, logs: 7 });
    const b = sampleBatch({ node: 'txt-b', seq: 1, logs: 5 });
    const awkward = 'comma, ],[ "quoted" \\ tab\t new\nline ü 𝄞';
    b.logs[2] = { ...b.logs[2]!, message: awkward, fields: { 'k,]': '[,"v"' } };
    const texts = [a, b].map((x) => batchToText(x, meta).text.logs);
    // The rows of one batch are on one line: what the engine reads is the comma between them.
    expect(texts.map((t) => t.split('\n').length)).toEqual([2, 2]);
    await insertText(client, 'logs', texts);
    const rs = await client.query({
      query: `SELECT NodeName, Body, LogAttributes FROM ${TABLES.logs} WHERE NodeName LIKE 'txt-%' ORDER BY NodeName, Timestamp`,
      format: 'JSONCompactEachRow',
    });
    expect(await rs.json()).toEqual(
      [a, b].flatMap((x) => [...x.logs].sort((p, q) => p.ts - q.ts).map((l) => [x.node, l.message, l.fields])),
    );
  });
});
