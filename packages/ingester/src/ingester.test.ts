/**
 * The whole ingester against real Mosquitto and embedded ClickHouse: publish -> stored ->
 * queryable -> acknowledged; duplicates, hostile input and a ClickHouse outage.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, encodeStatus, topics } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../../../test/support/mosquitto.js';
import { sampleBatch } from '../../../test/support/batches.js';
import { faultSwitch } from '../../../test/support/clickhouse.js';
import { connectNode, type NodeClient } from '../../../test/support/node-client.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import type { Ingester } from './ingester.js';
import { TABLES } from './storage/tables.js';

const codec = createBatchCodec();

describe.runIf(haveMosquitto())('ingester end to end (Mosquitto + embedded ClickHouse)', () => {
  let stack: Stack;
  let ingester: Ingester;
  let url: string;
  let node: NodeClient;
  let client: ClickHouseClient;
  const faults = faultSwitch();
  const NODE = 'gw-e2e-1';
  const TOKEN = 'ingester-e2e-admin-token-0123456789abcdef';

  const get = async (p: string) => {
    const res = await fetch(url + p, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
  };
  const publish = (topic: string, payload: Buffer) => node.publish(topic, payload);
  const ackFor = (seq: number) => node.ackFor(seq);
  /** The clock of the batches of the first two cases, which must share a window whenever they run. */
  const firstWindowAt = Date.now();

  beforeAll(async () => {
    stack = await startStack({
      ingester: { mqtt: { clientId: 'ingester-e2e' }, auth: { adminToken: TOKEN } },
      wrapConnection: (c) => faults.wrap(c),
    });
    ({ ingester, clickhouse: client, api: url } = stack);
    node = await connectNode(stack.broker.url, NODE);
  });

  afterAll(async () => {
    await node?.close();
    await stack?.close();
  });

  it('stores a published batch, serves it through the API and acknowledges it', async () => {
    const batch = sampleBatch({ node: NODE, seq: 1, now: firstWindowAt });
    await publish(
      topics.status(NODE),
      encodeStatus({ v: 1, node: NODE, state: 'online', at: Date.now(), agentVersion: '0.1.0' }),
    );
    await publish(topics.batch(NODE), codec.encode(batch));
    expect(await ackFor(1)).toEqual({ v: 1, node: NODE, epoch: 1, seqs: [1] });

    const nodes = await get('/api/v1/nodes');
    expect(nodes.status).toBe(200);
    const me = (
      nodes.body as unknown as { node: string; online: boolean; containers: string[]; uplinkBytes: number }[]
    ).find((n) => n.node === NODE);
    expect(me).toMatchObject({
      online: true,
      containers: ['app-0', 'app-1', 'app-2'],
      uplinkBytes: batch.health.uplinkBytes,
    });

    const from = batch.windowStart - 60_000;
    const m = await get(
      `/api/v1/nodes/${NODE}/metrics?container=app-1&metric=cpu.usage_pct&from=${from}&to=${batch.windowEnd + 60_000}&step=60`,
    );
    expect(m.status).toBe(200);
    const series = m.body.series as {
      container: string;
      metric: string;
      points: { count: number; min: number; max: number; avg: number; p50: number; p99: number }[];
    }[];
    expect(series).toHaveLength(1);
    const src = batch.metrics.find((x) => x.container === 'app-1' && x.metric === 'cpu.usage_pct')!;
    expect(series[0]!.points).toHaveLength(1);
    const pt = series[0]!.points[0]!;
    expect(pt).toMatchObject({ count: src.count, min: src.min, max: src.max });
    expect(pt.avg).toBeCloseTo(src.sum / src.count, 9);
    expect(pt.p50).toBeGreaterThanOrEqual(src.min * 0.99);
    expect(pt.p99).toBeLessThanOrEqual(src.max * 1.01);

    // The hourly rollup answers steps of an hour or more with the same aggregates.
    const hourly = await get(
      `/api/v1/nodes/${NODE}/metrics?container=app-1&metric=cpu.usage_pct&from=${from}&to=${batch.windowEnd + 60_000}&step=3600`,
    );
    expect(hourly.body.source).toBe('hourly');
    const hp = (hourly.body.series as { points: (typeof pt)[] }[])[0]!.points[0]!;
    expect(hp).toMatchObject({ count: pt.count, min: pt.min, max: pt.max, p50: pt.p50, p99: pt.p99 });

    const logs = await get(`/api/v1/nodes/${NODE}/logs?level=error&from=${from}&to=${batch.windowEnd}`);
    expect(logs.status).toBe(200);
    const errors = batch.logs.filter((l) => l.level >= 4);
    expect((logs.body.logs as { message: string }[]).map((l) => l.message).sort()).toEqual(
      errors.map((l) => l.message).sort(),
    );
    const tpl = await get(`/api/v1/nodes/${NODE}/templates?from=${from}&to=${batch.windowEnd + 60_000}`);
    expect(tpl.status).toBe(200);
    expect(tpl.body.templates).toEqual([
      expect.objectContaining({
        templateId: 't-ok',
        template: batch.templates[0]!.template,
        count: batch.templates[0]!.count,
        level: 'info',
        samples: [
          {
            ts: new Date(batch.templates[0]!.samples[0]!.ts).toISOString(),
            params: batch.templates[0]!.samples[0]!.params,
          },
        ],
      }),
    ]);
    const fleet = await get(`/api/v1/fleet?from=${from}&to=${batch.windowEnd + 60_000}`);
    expect(fleet.body).toMatchObject({
      nodes: 1,
      online: 1,
      offlineNodes: [],
      uplinkBytes: batch.health.uplinkBytes,
      rawBytes: batch.health.rawBytes,
      drops: [{ stage: 'logs.level', reason: 'below_level', count: 7 }],
    });

    const search = await get(`/api/v1/nodes/${NODE}/logs?q=SERVED%20IN&limit=2&from=${from}&to=${batch.windowEnd}`);
    expect(search.body).toMatchObject({ truncated: true });
    expect(search.body.logs).toHaveLength(2);
  });

  it('stores a redelivered batch once and acknowledges it again', async () => {
    // At the first case's clock: made at its own, a minute boundary between the two cases put the
    // batches in different windows, and the window below held one batch's count.
    const batch = sampleBatch({ node: NODE, seq: 2, now: firstWindowAt });
    await publish(topics.batch(NODE), codec.encode(batch));
    await ackFor(2);
    const before = node.acks.filter((a) => a.seqs.includes(2)).length;
    await publish(topics.batch(NODE), codec.encode(batch));
    await waitFor('second ack', () => node.acks.filter((a) => a.seqs.includes(2)).length > before);
    expect(ingester.stats().writer.batchesDuplicate).toBeGreaterThanOrEqual(1);
    const m = await get(
      `/api/v1/nodes/${NODE}/metrics?container=app-0&metric=mem.usage_bytes&from=${batch.windowStart}&to=${batch.windowEnd}&step=60`,
    );
    const points = (m.body.series as { points: { count: number }[] }[])[0]!.points;
    // seq 1 and seq 2 share the window: two batches' counts, not three.
    expect(points[0]!.count).toBe(2 * batch.metrics[0]!.count);
  });

  it('dead-letters hostile input with its reason code and stays up', async () => {
    await publish(topics.batch(NODE), Buffer.from('not a batch at all'));
    await publish(topics.batch(NODE), codec.encode(sampleBatch({ node: 'someone-else', seq: 9 })));
    await publish('et/v1/bad node/up/batch', Buffer.from('x'));
    // Not one of our topics, but under the node's own level: refused for that node.
    await publish(`et/v1/${NODE}/up/batch/0`, Buffer.from('y'));
    const rejected = await waitFor('rejections', () => {
      const r = ingester.stats().consumer.rejected;
      return Object.values(r).reduce((a, b) => a + b, 0) >= 4 ? r : undefined;
    });
    expect(rejected.ET_ERR_NODE_MISMATCH).toBe(1);
    const prom = await (await fetch(`${url}/metrics`)).text();
    expect(prom).toContain('et_ingester_rejected_total{reason="ET_ERR_NODE_MISMATCH"} 1');
    expect(prom).toMatch(/et_ingester_batches_stored_total [1-9]/);
    // The loop ran callbacks to handle them (the delay's first period may not have ended yet).
    expect(prom).toMatch(/et_ingester_event_loop_busy_seconds_total 0?\.?[0-9]*[1-9]/);
    expect(prom).toMatch(/et_ingester_event_loop_delay_seconds\{quantile="0\.99"\} [0-9.e-]+\n/);
    const dead = await waitFor('dead-letter rows', async () => {
      const rs = await client.query({
        query: `SELECT ReasonCode, NodeName, PayloadBase64 FROM ${TABLES.deadLetters} ORDER BY ReceivedAt`,
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ ReasonCode: string; NodeName: string; PayloadBase64: string }>();
      return rows.length >= 4 ? rows : undefined;
    });
    // By payload and code, not by ReceivedAt: the node's two messages wait in its lane while the
    // bad topic is refused before any lane, so the third can be dead-lettered before the second.
    expect(dead).toHaveLength(4);
    const garbage = dead.find((d) => Buffer.from(d.PayloadBase64, 'base64').toString() === 'not a batch at all');
    expect(garbage?.NodeName).toBe(NODE);
    expect(garbage?.ReasonCode).toMatch(/^ET_ERR_/);
    expect(dead.filter((d) => d.ReasonCode === 'ET_ERR_NODE_MISMATCH').map((d) => d.NodeName)).toEqual([NODE]);
    expect(
      dead
        .filter((d) => d.ReasonCode === 'ET_ERR_UNKNOWN_TOPIC')
        .map((d) => d.NodeName)
        .sort(),
    ).toEqual(['', NODE]);
    expect((await get('/healthz')).status).toBe(200);
    // The process still takes good batches after the bad ones.
    await publish(topics.batch(NODE), codec.encode(sampleBatch({ node: NODE, seq: 3 })));
    await ackFor(3);
    expect(node.acks.some((a) => a.seqs.includes(9))).toBe(false);
  });

  it('withholds the ack while ClickHouse is down, reports it in /readyz, and recovers on its own', async () => {
    expect((await get('/readyz')).status).toBe(200);
    faults.set('fail', /INSERT INTO et_/);
    await publish(topics.batch(NODE), codec.encode(sampleBatch({ node: NODE, seq: 4 })));
    const ready = await waitFor('readyz to report the outage', async () => {
      const r = await get('/readyz');
      return r.status === 503 ? r.body : undefined;
    });
    expect(ready).toMatchObject({
      ready: false,
      clickhouse: true,
      broker: true,
      writer: { backpressured: true, failing: true },
    });
    // Backpressure reaches the broker: further batches are not taken off the connection.
    const accepted = ingester.stats().consumer.batchesAccepted;
    for (const seq of [5, 6, 7]) await publish(topics.batch(NODE), codec.encode(sampleBatch({ node: NODE, seq })));
    await new Promise((r) => setTimeout(r, 300));
    expect(ingester.stats().consumer.batchesAccepted).toBe(accepted);
    expect(node.acks.some((a) => a.seqs.some((s) => s >= 4))).toBe(false);
    faults.set('ok');
    for (const seq of [4, 5, 6, 7]) await ackFor(seq);
    expect(ingester.stats().consumer.batchesAccepted).toBe(accepted + 3);
    await waitFor('ready again', async () => (await get('/readyz')).status === 200);
  });

  it('stores the text of a template row that left it out, and counts one whose text was never stored', async () => {
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 6 * 3_600_000;
    const row = { container: 'app-0', id: 't-held', level: 2 as const, count: 3, samples: [] };
    const at = (seq: number, now: number, template: string) => {
      const b = sampleBatch({ node: NODE, seq, now });
      return {
        ...b,
        metrics: [],
        logs: [],
        templates: [{ ...row, template, firstSeen: b.windowStart, lastSeen: b.windowStart + 1_000 }],
      };
    };
    const text = 'cache <*> refreshed in <*> ms';
    const before = ingester.stats().templateTexts;
    // Carried at t0, left out 40 min later; left out again 3 h later, beyond what a node may rely on.
    for (const b of [at(40, t0, text), at(41, t0 + 40 * 60_000, ''), at(42, t0 + 3 * 3_600_000, '')]) {
      await publish(topics.batch(NODE), codec.encode(b));
      await ackFor(b.seq);
    }
    const stored = await client.query({
      query: `SELECT Template FROM ${TABLES.templates} WHERE NodeName = {node:String} AND TemplateId = 't-held' ORDER BY LastSeen`,
      query_params: { node: NODE },
      format: 'JSONCompactEachRow',
    });
    expect(await stored.json()).toEqual([[text], [text], ['']]);
    const after = ingester.stats().templateTexts;
    expect(after.fromCache - before.fromCache).toBe(1);
    expect(after.unresolved - before.unresolved).toBe(1);
    const range = (from: number, to: number) =>
      get(`/api/v1/nodes/${NODE}/templates?container=app-0&from=${from}&to=${to}`);
    // The range holds only the row that left its text out.
    const within = await range(t0 + 30 * 60_000, t0 + 50 * 60_000);
    expect(within.body.templates).toEqual([
      expect.objectContaining({ templateId: 't-held', template: text, count: 3 }),
    ]);
    const beyond = await range(t0 + 2.5 * 3_600_000, t0 + 3.5 * 3_600_000);
    expect(beyond.body.templates).toEqual([expect.objectContaining({ templateId: 't-held', template: '' })]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/et_ingester_template_texts_omitted_total\{found="nowhere"\} [1-9]/);
  });

  it('shows the rows of templates a node merged as the template they merged into', async () => {
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 4 * 3_600_000;
    const row = (id: string, template: string, count: number, at: number, merged?: string[]) => ({
      container: 'app-1',
      id,
      template,
      level: 2 as const,
      count,
      firstSeen: at,
      lastSeen: at + 1_000,
      samples: [],
      ...(merged ? { merged } : {}),
    });
    const batch = (seq: number, now: number, templates: ReturnType<typeof row>[]) => ({
      ...sampleBatch({ node: NODE, seq, now }),
      metrics: [],
      logs: [],
      templates,
    });
    // Three users seen apart, then the miner learns the position is a parameter: b and c merge into a, b into a chain via c.
    const batches = [
      batch(50, t0, [
        row('t-a', 'Invalid user webmaster from <*>', 5, t0),
        row('t-b', 'Invalid user oracle from <*>', 3, t0),
      ]),
      batch(51, t0 + 60_000, [row('t-c', 'Invalid user admin from <*>', 2, t0 + 60_000, ['t-b'])]),
      batch(52, t0 + 120_000, [row('t-a', 'Invalid user <*> from <*>', 7, t0 + 120_000, ['t-c'])]),
    ];
    for (const b of batches) {
      await publish(topics.batch(NODE), codec.encode(b));
      await ackFor(b.seq);
    }
    const res = await get(`/api/v1/nodes/${NODE}/templates?container=app-1&from=${t0}&to=${t0 + 3_600_000}`);
    expect(res.body.templates).toEqual([
      expect.objectContaining({ templateId: 't-a', template: 'Invalid user <*> from <*>', count: 17 }),
    ]);
    // Before the merges the rows stand on their own.
    const before = await get(`/api/v1/nodes/${NODE}/templates?container=app-1&from=${t0}&to=${t0 + 30_000}`);
    expect(before.body.templates).toEqual([
      expect.objectContaining({ templateId: 't-a', count: 5 }),
      expect.objectContaining({ templateId: 't-b', count: 3 }),
    ]);
  });

  it("lists a container the node sent only logs of with the node's containers", async () => {
    // What a node with log sources only sends: no inventory, no container metrics.
    const b = sampleBatch({ node: NODE, seq: 60 });
    const logsOnly = {
      ...b,
      containers: [],
      metrics: [{ ...b.metrics[0]!, container: '_collector' }],
      logs: b.logs.map((l) => ({ ...l, container: 'logs-only' })),
      templates: b.templates.map((t) => ({ ...t, container: 'logs-only' })),
      events: [],
    };
    await publish(topics.batch(NODE), codec.encode(logsOnly));
    await ackFor(60);
    const nodes = (await get('/api/v1/nodes')).body as unknown as { node: string; containers: string[] }[];
    // Added to the inventory the earlier batches listed; the collector's own series is no container.
    expect(nodes.find((n) => n.node === NODE)?.containers).toEqual(['app-0', 'app-1', 'app-2', 'logs-only']);
  });

  it('serves the OpenAPI document and the docs page from local assets', async () => {
    const spec = await get('/docs/json');
    expect(Object.keys(spec.body.paths as object)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/api/v1/nodes',
        '/api/v1/nodes/{node}/metrics',
        '/api/v1/nodes/{node}/logs',
      ]),
    );
    const page = await fetch(`${url}/docs/static/index.html`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toMatch(/https?:\/\/(cdn|unpkg)/);
  });

  /**
   * A gateway that booted without a real-time clock runs at 1970, and the TTL deleted its rows at
   * the next merge, unseen; one years ahead had them kept for ever, out of every chart.
   */
  it("stores a batch from a node whose clock was never set or runs ahead at its receive time, the node's times in the ledger, counted", async () => {
    const DAY = 86_400_000;
    const off = [
      { direction: 'behind', name: 'gw-e2e-1970', nodeNow: 3_600_000 },
      { direction: 'ahead', name: 'gw-e2e-ahead', nodeNow: Date.now() + 2 * 365 * DAY },
    ];
    for (const { name, nodeNow } of off) {
      const n = await connectNode(stack.broker.url, name);
      try {
        const b = sampleBatch({ node: name, seq: 1, now: nodeNow });
        await n.publish(topics.batch(name), codec.encode(b));
        await n.ackFor(1);
        const rs = await client.query({
          query: `SELECT toUnixTimestamp64Milli(ReceivedAt) AS received, toUnixTimestamp64Milli(NodeSentAt) AS sent,
              ClockSkewMs AS skew, toUnixTimestamp64Milli(WindowStart) AS ws, toUnixTimestamp64Milli(WindowEnd) AS we
            FROM ${TABLES.ledger} WHERE NodeName = {name:String}`,
          query_params: { name },
          format: 'JSONEachRow',
        });
        const [ledger] = await rs.json<Record<'received' | 'sent' | 'skew' | 'ws' | 'we', string>>();
        // The ledger keeps what the node said.
        const received = Number(ledger!.received);
        expect([ledger!.sent, ledger!.ws, ledger!.we].map(Number)).toEqual([b.sentAt, b.windowStart, b.windowEnd]);
        expect(Number(ledger!.skew)).toBe(received - b.sentAt);
        // The rows are where a right clock would have put them: moved by the skew, in the last hour.
        const shift = received - b.sentAt;
        const from = received - 3_600_000;
        const m = await get(
          `/api/v1/nodes/${name}/metrics?container=app-1&metric=cpu.usage_pct&from=${from}&to=${received + 60_000}&step=60`,
        );
        const src = b.metrics.find((x) => x.container === 'app-1' && x.metric === 'cpu.usage_pct')!;
        expect((m.body.series as { points: { count: number; max: number }[] }[])[0]?.points).toEqual([
          expect.objectContaining({ count: src.count, max: src.max }),
        ]);
        const logs = await get(`/api/v1/nodes/${name}/logs?level=error&from=${from}&to=${received + 60_000}`);
        expect((logs.body.logs as { ts: string }[]).map((l) => Date.parse(l.ts)).sort()).toEqual(
          b.logs
            .filter((l) => l.level >= 4)
            .map((l) => l.ts + shift)
            .sort(),
        );
      } finally {
        await n.close();
      }
    }
    // A right clock back from eight days offline: its window stays at its own time (metrics are kept
    // 30 days), and the logs the TTL deletes at once (kept 7) are counted, not left unseen.
    const name = 'gw-e2e-backlog';
    const n = await connectNode(stack.broker.url, name);
    try {
      const b = sampleBatch({ node: name, seq: 1, now: Date.now() - 8 * DAY });
      await n.publish(topics.batch(name), codec.encode(b));
      await n.ackFor(1);
      const m = await get(
        `/api/v1/nodes/${name}/metrics?container=app-1&metric=cpu.usage_pct&from=${b.windowStart}&to=${b.windowEnd}&step=60`,
      );
      expect((m.body.series as { points: { t: string }[] }[])[0]?.points.map((p) => Date.parse(p.t))).toEqual([
        b.windowStart,
      ]);
    } finally {
      await n.close();
    }
    const prom = await (await fetch(`${url}/metrics`)).text();
    expect(prom).toContain('et_ingester_batches_off_clock_total{direction="behind"} 1');
    expect(prom).toContain('et_ingester_batches_off_clock_total{direction="ahead"} 1');
    expect(prom).toContain('et_ingester_batches_past_retention_total 1');
  });

  it('rejects unbounded or malformed queries with a code', async () => {
    const tooLong = await get(`/api/v1/nodes/${NODE}/logs?from=0&to=${Date.now()}`);
    expect(tooLong).toMatchObject({ status: 400, body: { code: 'ET_ERR_RANGE_TOO_LARGE' } });
    const bad = await get(`/api/v1/nodes/${NODE}/logs?limit=100000`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'ET_ERR_BAD_REQUEST' } });
  });
});
