import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, LogTemplate } from '@edge-telemetry/protocol';
import { sampleBatch } from '../../../../test/support/batches.js';
import { faultSwitch, openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import type { Logger } from '../logger.js';
import { insertRows } from '../storage/insert.js';
import { batchToRows } from '../storage/rows.js';
import { createTemplateTextResolver, MAX_LOOKUPS_PER_BATCH, TEXT_FOLLOW_BACK_MS, TEXT_PAGE_ROWS } from './resolver.js';

const HOUR = 3_600_000;
const logger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function withTemplates(node: string, seq: number, lastSeen: number, rows: [string, string][]): Batch {
  const b = sampleBatch({ node, seq, now: lastSeen });
  const templates: LogTemplate[] = rows.map(([id, template]) => ({
    container: 'app-0',
    id,
    template,
    level: 2,
    count: 1,
    firstSeen: lastSeen - 1000,
    lastSeen,
    samples: [],
  }));
  return { ...b, templates };
}

describe('template text resolver', () => {
  let ch: EmbeddedClickHouse;
  let client: ClickHouseClient;
  const faults = faultSwitch();
  const t0 = Date.now() - 2 * HOUR;

  beforeAll(async () => {
    ch = await openMigrated('template-texts', (c) => faults.wrap(c));
    client = ch.client;
    // Texts stored earlier (by another ingester, or before a restart), for 20 nodes.
    for (let n = 0; n < 20; n++) {
      const b = withTemplates(`gw-${n}`, 1, t0, [
        ['a', `text a of ${n}`],
        ['b', `text b of ${n}`],
      ]);
      await insertRows(
        client,
        'templates',
        batchToRows(b, { receivedAt: t0, wireBytes: 0, ingesterId: 'x' }).rows.templates,
      );
    }
  });
  afterAll(async () => ch?.close());

  it('fills texts from ClickHouse in one read for the batches that miss together, then from its cache', async () => {
    const r = createTemplateTextResolver({ client, cacheBytes: 1 << 20, logger });
    const filled = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        r.fill(
          withTemplates(`gw-${n}`, 2, t0 + 30 * 60_000, [
            ['a', ''],
            ['b', ''],
          ]),
        ),
      ),
    );
    expect(filled.map((b) => b.templates.map((t) => t.template))).toEqual(
      Array.from({ length: 20 }, (_, n) => [`text a of ${n}`, `text b of ${n}`]),
    );
    // The first miss starts a read; the 19 that miss while it runs share the second.
    expect(r.stats()).toMatchObject({ fromStorage: 40, fromCache: 0, unresolved: 0 });
    expect(r.stats().reads).toBeLessThanOrEqual(2);
    const again = await r.fill(withTemplates('gw-3', 3, t0 + 40 * 60_000, [['a', '']]));
    expect(again.templates[0]!.template).toBe('text a of 3');
    expect(r.stats().fromCache).toBe(1);
  });

  it('takes only a text carried within the lookback, and counts one found nowhere', async () => {
    const r = createTemplateTextResolver({ client, cacheBytes: 1 << 20, logger });
    const late = await r.fill(withTemplates('gw-1', 4, t0 + 2 * HOUR, [['a', '']]));
    const unknown = await r.fill(withTemplates('gw-1', 5, t0 + 10 * 60_000, [['never-sent', '']]));
    expect([late.templates[0]!.template, unknown.templates[0]!.template]).toEqual(['', '']);
    expect(r.stats().unresolved).toBe(2);
  });

  it('looks up at most MAX_LOOKUPS_PER_BATCH texts of a batch, and tells of every one found nowhere', async () => {
    const told: [string, number][] = [];
    const r = createTemplateTextResolver({
      client,
      cacheBytes: 1 << 20,
      logger,
      onUnresolved: (node, rows) => told.push([node, rows]),
    });
    // Session 12's flood: ids the node never sent, every text left out; one stored text among them.
    const rows: [string, string][] = Array.from({ length: MAX_LOOKUPS_PER_BATCH + 5000 }, (_, i) => [`flood-${i}`, '']);
    rows.unshift(['a', '']);
    const b = await r.fill(withTemplates('gw-4', 7, t0 + 10 * 60_000, rows));
    expect(b.templates[0]!.template).toBe('text a of 4');
    expect(r.stats()).toMatchObject({ fromStorage: 1, unresolved: rows.length - 1, notLookedUp: 5001, reads: 1 });
    expect(told).toEqual([['gw-4', rows.length - 1]]);
  });

  it('learns a batch’s own texts, keeps the newest, and stays within its byte bound', async () => {
    const r = createTemplateTextResolver({ client, cacheBytes: 4096, logger });
    await r.fill(withTemplates('gw-new', 1, t0 + 2 * 60_000, [['x', 'newer text']]));
    // A backlog batch carrying an older text does not replace the newer one.
    await r.fill(withTemplates('gw-new', 2, t0 + 60_000, [['x', 'older text']]));
    const b = await r.fill(withTemplates('gw-new', 3, t0 + 3 * 60_000, [['x', '']]));
    expect(b.templates[0]!.template).toBe('newer text');
    for (let i = 0; i < 200; i++) await r.fill(withTemplates('gw-many', i, t0, [[`id-${i}`, `text number ${i}`]]));
    expect(r.stats().cachedBytes).toBeLessThanOrEqual(4096);
  });

  it('rejects while ClickHouse cannot be read (the batch is then not acknowledged)', async () => {
    const r = createTemplateTextResolver({ client, cacheBytes: 1 << 20, logger });
    faults.set('fail');
    try {
      await expect(r.fill(withTemplates('gw-2', 6, t0 + 60_000, [['a', '']]))).rejects.toThrow();
    } finally {
      faults.set('ok');
    }
    const ok = await r.fill(withTemplates('gw-2', 6, t0 + 60_000, [['a', '']]));
    expect(ok.templates[0]!.template).toBe('text a of 2');
  });

  it('reads ahead the texts stored since it last looked (first the lookback), so batches that left them out read nothing', async () => {
    let t = t0 + 30 * 60_000;
    const r = createTemplateTextResolver({ client, cacheBytes: 4 << 20, logger, now: () => t });
    const omitted = (node: string, seq: number, ids: string[]) =>
      withTemplates(
        node,
        seq,
        t,
        ids.map((id) => [id, '']),
      );
    const store = (b: Batch) =>
      insertRows(client, 'templates', batchToRows(b, { receivedAt: t, wireBytes: 0, ingesterId: 'y' }).rows.templates);
    // The warm-up: every text of the lookback (the 40 of beforeAll).
    expect(await r.catchUp()).toBe(40);
    const warm = await Promise.all(Array.from({ length: 20 }, (_, n) => r.fill(omitted(`gw-${n}`, 7, ['a', 'b']))));
    expect(warm.map((b) => b.templates.map((x) => x.template))).toEqual(
      Array.from({ length: 20 }, (_, n) => [`text a of ${n}`, `text b of ${n}`]),
    );
    expect(r.stats()).toMatchObject({ fromCache: 40, fromStorage: 0, reads: 0 });
    // Another ingester stores more than a page of new texts; the next look reads them (and not
    // again the 40 older than its span), the batches that leave them out find them here. The node
    // id is as long as the protocol allows (64): a page's keys written as one IN list are then more
    // query text than ClickHouse parses (max_query_size, 256 KiB).
    t += 60_000;
    const many = TEXT_PAGE_ROWS + 100;
    const node = `gw-page-${'x'.repeat(56)}`;
    await store(
      withTemplates(
        node,
        1,
        t,
        Array.from({ length: many }, (_, i) => [`p${i}`, `paged text ${i}`]),
      ),
    );
    t += TEXT_FOLLOW_BACK_MS / 2;
    expect(await r.catchUp()).toBe(many);
    const filled = await r.fill(omitted(node, 2, ['p0', `p${many - 1}`]));
    expect(filled.templates.map((x) => x.template)).toEqual(['paged text 0', `paged text ${many - 1}`]);
    expect(r.stats()).toMatchObject({ fromStorage: 0, reads: 0, followed: 40 + many });
    // The next look reads the span's keys again but none of their texts: it holds them all.
    faults.set('fail', /argMax\(Template/);
    try {
      expect(await r.catchUp()).toBe(0);
    } finally {
      faults.set('ok');
    }
  });

  it('reads keys with quotes and backslashes in their names, each to its own text', async () => {
    // Escaped for JSON and for SQL on the way into the one literal of the keys.
    const odd = (b: Batch, container: string): Batch => ({
      ...b,
      templates: b.templates.map((t) => ({ ...t, container })),
    });
    const names = [`app'"\\0`, `app\\'1`, 'app-0'];
    for (const [i, container] of names.entries()) {
      const b = odd(withTemplates(`gw-'"\\odd`, 1, t0, [[`id'"\\`, `odd text ${i}`]]), container);
      await insertRows(
        client,
        'templates',
        batchToRows(b, { receivedAt: t0, wireBytes: 0, ingesterId: 'x' }).rows.templates,
      );
    }
    const r = createTemplateTextResolver({ client, cacheBytes: 1 << 20, logger });
    const filled = await Promise.all(
      names.map((container) => r.fill(odd(withTemplates(`gw-'"\\odd`, 2, t0 + 60_000, [[`id'"\\`, '']]), container))),
    );
    expect(filled.map((b) => b.templates[0]!.template)).toEqual(['odd text 0', 'odd text 1', 'odd text 2']);
    expect(r.stats()).toMatchObject({ fromStorage: 3, unresolved: 0 });
  });
});
