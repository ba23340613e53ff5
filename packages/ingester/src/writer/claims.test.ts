/**
 * Two writers (two ingesters) on one engine, each on its own connection that a test can stall at
 * a chosen statement, so the interleavings that stored batches twice happen on command:
 * - one dies with its group half inserted, and its in-flight insert lands after the other has
 *   taken over (a killed ingester's request the server completes);
 * - both hold a copy of a batch (the node sent it again), in different groups.
 * Every batch must end up in every table exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '@edge-telemetry/protocol';
import { resolveConfig } from '../config/load.js';
import { createClickHouseClient } from '../storage/client.js';
import { migrate } from '../storage/migrate.js';
import { TABLES } from '../storage/tables.js';
import type { Logger } from '../logger.js';
import { sampleBatch } from '../../../../test/support/batches.js';
import { faultSwitch, refuseRowsContaining, type FaultSwitch } from '../../../../test/support/clickhouse.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createWriter, type Writer } from './writer.js';
import { claimBody, insertClaims, insertRefusals, keyStates, parseClaimBody } from './claims.js';
import { batchToText } from '../storage/batch-text.js';
import { insertRows } from '../storage/insert.js';
import { IngesterError } from '../errors.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const meta = (id: string) => ({ receivedAt: Date.now(), wireBytes: 1000, ingesterId: id });

describe('claims: two writers on one engine store each batch once', () => {
  let dir: string;
  const faults = { a: faultSwitch(), b: faultSwitch() };
  const clients: Record<'a' | 'b', ClickHouseClient> = {} as Record<'a' | 'b', ClickHouseClient>;
  const options = { ...resolveConfig(undefined, {}).writer, flushIntervalMs: 10, retryMinMs: 10, retryMaxMs: 50 };
  const writer = (who: 'a' | 'b'): Writer => createWriter({ client: clients[who], options, logger: quiet });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-claims-'));
    for (const who of ['a', 'b'] as const)
      clients[who] = createClickHouseClient({
        dataDir: dir,
        wrapConnection: (c) => refuseRowsContaining('POISON-ROW')(faults[who].wrap(c)),
      });
    await migrate(clients.b, { retention: resolveConfig(undefined, {}).retention });
  });
  afterAll(async () => {
    for (const c of Object.values(clients)) await c.close();
    await rm(dir, { recursive: true, force: true });
  });

  const count = async (table: string, node: string) =>
    Number(
      (
        await (
          await clients.b.query({
            query: `SELECT count() AS n FROM ${table} WHERE NodeName = {node:String}`,
            query_params: { node },
            format: 'JSONEachRow',
          })
        ).json<{ n: string }>()
      )[0]?.n,
    );
  /** Each batch's rows once in every table, and once in the ledger. */
  async function expectOnce(node: string, batches: readonly Batch[]): Promise<void> {
    const sum = (f: (b: Batch) => number) => batches.reduce((n, b) => n + f(b), 0);
    expect(await count(TABLES.ledger, node)).toBe(batches.length);
    expect(await count(TABLES.metrics, node)).toBe(sum((b) => b.metrics.length));
    expect(await count(TABLES.logs, node)).toBe(sum((b) => b.logs.length));
    expect(await count(TABLES.templates, node)).toBe(sum((b) => b.templates.length));
    expect(await count(TABLES.events, node)).toBe(sum((b) => b.events.length));
    expect(await count(TABLES.drops, node)).toBe(sum((b) => b.drops.length));
    expect(await count(TABLES.health, node)).toBe(batches.length);
  }
  const stalledAt = async (sw: FaultSwitch) =>
    waitFor('the writer to reach the stalled statement', () => sw.refused > 0);

  it('finishes the half-inserted group of a writer that died, once, even when its last insert lands late', async () => {
    const node = 'claims-dead';
    const batches = [1, 2, 3, 4].map((seq) => sampleBatch({ node, seq }));
    const a = writer('a');
    faults.a.set('stall', /INSERT INTO et_log_templates/);
    for (const b of batches) void a.submit(b, meta('a')).catch(() => undefined);
    await stalledAt(faults.a);
    // The data tables are inserted side by side: a's metrics insert may still be running when its
    // templates insert reaches the stall, so wait for it to land rather than assume it has.
    await waitFor("a's metrics insert to land", async () => (await count(TABLES.metrics, node)) > 0);
    // a's metrics and logs are in, its templates insert is on its way: it dies.
    a.abort();
    expect(await count(TABLES.ledger, node)).toBe(0);

    // The node sends one of them again; it reaches b, which finishes a's whole group.
    const b = writer('b');
    expect(await b.submit(batches[1] as Batch, meta('b'))).toBe('duplicate');
    await expectOnce(node, batches);
    // a's insert that was on its way reaches the server now, under the same token: dropped.
    faults.a.set('ok');
    await waitFor("a's released insert to land", () => faults.a.inFlight === 0);
    await expectOnce(node, batches);
    await b.close();
  });

  it('stores a batch once when two writers hold copies of it in different groups', async () => {
    const node = 'claims-twice';
    const shared = sampleBatch({ node, seq: 1 });
    const onlyA = sampleBatch({ node, seq: 2 });
    const onlyB = sampleBatch({ node, seq: 3 });
    const a = writer('a');
    const b = writer('b');
    // a stops before claiming them.
    faults.a.refused = 0;
    faults.a.set('stall', /INSERT INTO et_batch_claims/);
    const fromA = [a.submit(shared, meta('a')), a.submit(onlyA, meta('a'))];
    await stalledAt(faults.a);
    // b claims its copy and the other batch first, and stops before its first data insert.
    faults.b.refused = 0;
    faults.b.set('stall', /INSERT INTO et_metric_summaries/);
    const fromB = [b.submit(shared, meta('b')), b.submit(onlyB, meta('b'))];
    await stalledAt(faults.b);
    // a claims too, finds the shared batch claimed first by b's group, stores that group, then its own.
    faults.a.set('ok');
    expect(await Promise.all(fromA)).toEqual(['duplicate', 'stored']);
    // b goes on: every insert it makes now is one a already made under b's tokens.
    faults.b.set('ok');
    expect(await Promise.all(fromB)).toEqual(['stored', 'stored']);
    await expectOnce(node, [shared, onlyA, onlyB]);
    await a.close();
    await b.close();
  });

  it('a group that claimed a batch stored long ago (its first claim gone with the TTL) is finished without it', async () => {
    const node = 'claims-expired';
    const old = sampleBatch({ node, seq: 1 });
    const fresh = sampleBatch({ node, seq: 2 });
    const a = writer('a');
    expect(await a.submit(old, meta('a'))).toBe('stored');
    // The claims' TTL (a day) took the old batch's claim; the ledger keeps it.
    await clients.b.command({
      query: `ALTER TABLE ${TABLES.claims} DELETE WHERE NodeName = {node:String}`,
      query_params: { node },
      clickhouse_settings: { mutations_sync: '2' },
    });
    // The node sends the old batch again, in a group with a new one: a claims both (it owns both
    // now), answers the old one as stored, and stops before it inserts the new one.
    faults.a.refused = 0;
    faults.a.set('stall', /INSERT INTO et_metric_summaries/);
    const fromA = [a.submit(old, meta('a')), a.submit(fresh, meta('a'))];
    await stalledAt(faults.a);
    // b holds a copy of the new one, finds it claimed by a's group and finishes that group: the new
    // batch, not the old one a second time.
    const b = writer('b');
    expect(await b.submit(fresh, meta('b'))).toBe('duplicate');
    faults.a.set('ok');
    expect(await Promise.all(fromA)).toEqual(['duplicate', 'stored']);
    await expectOnce(node, [old, fresh]);
    await a.close();
    await b.close();
  });

  it('finishes a group that refused a batch once, and refuses that batch again when it is sent again', async () => {
    const node = 'claims-refused';
    const good = sampleBatch({ node, seq: 1 });
    const base = sampleBatch({ node, seq: 2 });
    const poison = { ...base, logs: base.logs.map((l, i) => (i === 0 ? { ...l, message: 'POISON-ROW' } : l)) };
    const a = writer('a');
    // a stores its group's data tables, ClickHouse refuses the poison batch's logs, and a dies
    // before its ledger rows.
    faults.a.refused = 0;
    faults.a.set('stall', /INSERT INTO et_batches /);
    for (const b of [good, poison]) void a.submit(b, meta('a')).catch(() => undefined);
    await stalledAt(faults.a);
    a.abort();
    // The node sends the good one again; b finishes a's group: the same inserts, dropped as duplicates.
    const b = writer('b');
    expect(await b.submit(good, meta('b'))).toBe('duplicate');
    faults.a.set('ok');
    await waitFor("a's released insert to land", () => faults.a.inFlight === 0);
    // ...and the poison one, after the group ended: refused again, nothing stored again.
    await expect(b.submit(poison, meta('b'))).rejects.toMatchObject({ code: 'ET_ERR_STORAGE_REJECTED' });
    expect(await count(TABLES.ledger, node)).toBe(1);
    expect(await count(TABLES.logs, node)).toBe(good.logs.length);
    expect(await count(TABLES.metrics, node)).toBe(good.metrics.length + poison.metrics.length);
    expect(await count(TABLES.health, node)).toBe(2);
    await b.close();
  });

  it('leaves a group whose claim it cannot read to an ingester that can, and goes on with the rest', async () => {
    const node = 'claims-unreadable';
    const theirs = sampleBatch({ node, seq: 1 });
    const mine = sampleBatch({ node, seq: 2 });
    // A newer ingester claimed the first batch in a body this version cannot read (a table it does
    // not know, with rows in it: finishing the group without them would acknowledge rows never stored).
    const t = batchToText(theirs, meta('newer'));
    const newer = claimBody(t)
      .replace('{"rows":{', '{"rows":{"et_future":3,')
      .replace('"lengths":{', '"lengths":{"et_future":0,');
    await insertRows(
      clients.b,
      'claims',
      [[node, theirs.epoch, theirs.seq, 'newer-group', Date.now(), newer]],
      'newer-group',
    );
    const logged: Record<string, unknown>[] = [];
    const logger: Logger = { ...quiet, error: (o) => void logged.push(o as Record<string, unknown>) };
    const a = createWriter({ client: clients.a, options, logger });
    const answers: Record<string, unknown> = {};
    void a.submit(theirs, meta('a')).then(
      (v) => (answers.theirs = v),
      (e: unknown) => (answers.theirs = e),
    );
    void a.submit(mine, meta('a')).then(
      (v) => (answers.mine = v),
      (e: unknown) => (answers.mine = e),
    );
    // Before: the read of that group was retried for ever as a storage outage, the writer failing.
    await waitFor('both answered, or the writer failing', () => Object.keys(answers).length === 2 || a.state().failing);
    expect(a.state()).toMatchObject({ failing: false, backpressured: false, claimsUnreadable: 1, queuedBatches: 0 });
    expect(answers.mine).toBe('stored');
    expect(answers.theirs).toBeInstanceOf(IngesterError);
    expect((answers.theirs as IngesterError).code).toBe('ET_ERR_CLAIM_UNREADABLE');
    expect(logged).toContainEqual(
      expect.objectContaining({
        code: 'ET_ERR_CLAIM_UNREADABLE',
        node,
        epoch: theirs.epoch,
        seq: 1,
        group: 'newer-group',
      }),
    );
    // Not acknowledged, nothing of it stored here.
    expect(await count(TABLES.ledger, node)).toBe(1);
    await expectOnce(node, [mine]);

    // The ingester that can read the claim (here: the body as this version writes it) finishes the
    // group when the node sends the batch again: stored once.
    await clients.b.command({
      query: `ALTER TABLE ${TABLES.claims} UPDATE Body = {body:String} WHERE GroupToken = 'newer-group'`,
      query_params: { body: claimBody(t) },
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect(await a.submit(theirs, meta('a'))).toBe('duplicate');
    await expectOnce(node, [theirs, mine]);
    await a.close();
  });

  it('claim check: reads where each key of a group stands, the keys given as one set (names escaped)', async () => {
    const c = clients.b;
    // Quotes and a backslash: escaped for JSON and for SQL on the way into the one literal.
    const odd = `claims-set'"\\x`;
    const stored = { node: 'claims-set-stored', epoch: 1, seq: 1 };
    const claimed = { node: odd, epoch: 2, seq: 3 };
    const refusedOnly = { node: 'claims-set-stored', epoch: 1, seq: 2 };
    const unknown = { node: 'claims-set-none', epoch: 1, seq: 1 };
    const now = Date.now();
    await insertRows(c, 'ledger', [[stored.node, 1, 1, now, now, 0, now, now, 0, 0, 'test']]);
    // Claimed first by g1, then by g2: g1 owns it. A refusal mark owns nothing.
    await insertClaims(c, 'g1', [{ key: claimed, claim: '' }], now);
    await insertClaims(
      c,
      'g2',
      [
        { key: claimed, claim: '' },
        { key: stored, claim: '' },
      ],
      now,
    );
    await insertRefusals(c, 'g3', [refusedOnly], now);
    const state = await keyStates(c, [stored, claimed, refusedOnly, unknown]);
    expect([...state.stored]).toEqual(['claims-set-stored/1/1']);
    expect([...state.owner]).toEqual([[`${odd}/2/3`, 'g1']]);
  });

  it('refuses claim bodies it cannot read rather than reading them wrong', () => {
    const t = batchToText(sampleBatch({ node: 'claims-bad', seq: 4, logs: 3 }), meta('a'));
    const good = claimBody(t);
    const bodies = {
      'a format of a later version': `y:${good.slice(2)}`,
      'a table this version does not know, with rows': good.replace('{"rows":{', '{"rows":{"et_future":1,'),
      'texts shorter than their lengths': good.slice(0, good.length - 8),
      'no head line (deflated without one)': `z:${Buffer.from(good).toString('base64')}`,
      'not base64 of a head': 'bm90IGEgY2xhaW0=',
      'a head that is not an object of counts': `z:{"rows":[1],"lengths":{}}\n`,
    };
    for (const [what, body] of Object.entries(bodies))
      expect(() => parseClaimBody(body), what).toThrow(expect.objectContaining({ name: 'UnreadableClaimError' }));
    // A table this version does not know, with nothing in it, is read.
    const empty = good
      .replace('{"rows":{', '{"rows":{"et_future":0,')
      .replace('"lengths":{', '"lengths":{"et_future":0,');
    expect(parseClaimBody(empty)).toEqual(t);
  });

  it("keeps a batch's texts intact through its claim", () => {
    const batch = sampleBatch({ node: 'claims-body', seq: 7, logs: 30 });
    (batch.logs[0] as { message: string }).message = 'servéd ☃ "quoted" \\ tab\t new\nline 漢字';
    const t = batchToText(batch, meta('a'));
    const body = claimBody(t);
    expect(parseClaimBody(body)).toEqual(t);
    // Deflated: well below the texts themselves (base64 alone was 1.35 times them).
    expect(body.length).toBeLessThan(t.bytes / 2);
  });

  it('reads a claim written before claims were deflated (a rolling upgrade)', () => {
    const t = batchToText(sampleBatch({ node: 'claims-old', seq: 3, logs: 5 }), meta('a'));
    const head = { rows: t.rows, lengths: Object.fromEntries(Object.entries(t.text).map(([k, v]) => [k, v.length])) };
    const old = Buffer.from(JSON.stringify(head) + '\n' + Object.values(t.text).join('')).toString('base64');
    expect(parseClaimBody(old)).toEqual(t);
  });
});
