/**
 * Issue 18, item 1: a node leaves a template's text out once the ingester holds it (the sender's
 * ReceiverState decides, from the acks that came back); the ingester fills it back in before it
 * writes rows, from its own cache or, after a restart, from ClickHouse. So the Grafana
 * node-detail template panel (`any(Template)`) and `/templates` show the text for a range in which
 * every row left it out.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, topics, type Batch, type LogTemplate } from '@edge-telemetry/protocol';
import { ReceiverState } from '../../packages/collector/src/uplink/sender/receiver-state.js';
import { sampleBatch } from '../support/batches.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { connectNode, type NodeClient } from '../support/node-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { expandQuery } from './macros.js';

const NODE = 'gw-texts-1';
const TOKEN = 'template-texts-admin-token-0123456789abcdef';
const TEXTS: Record<string, string> = {
  'tpl-a': 'GET <*> answered <*> in <*> ms',
  'tpl-b': 'worker <*> picked job <*> from queue <*>',
};

describe.runIf(haveMosquitto())('template texts a node left out (sender omission -> ingester -> readers)', () => {
  let stack: Stack;
  let node: NodeClient;
  const codec = createBatchCodec();
  const receiver = new ReceiverState(codec, { references: 0, keyframeEvery: 1 });
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;

  /** One window of two containers' templates, through the sender's omission, published and acknowledged. */
  async function send(seq: number, at: number): Promise<LogTemplate[]> {
    const base = sampleBatch({ node: NODE, seq, now: at });
    const templates: LogTemplate[] = Object.entries(TEXTS).map(([id, template], i) => ({
      container: `app-${i}`,
      id,
      template,
      level: 2,
      count: 10 + seq,
      firstSeen: base.windowStart,
      lastSeen: base.windowEnd - 1,
      samples: [],
    }));
    const sent: Batch = { ...base, templates: receiver.omitHeldTexts(templates) };
    receiver.carried(1, seq, sent.templates, base.windowEnd);
    await node.publish(topics.batch(NODE), codec.encode(sent));
    await node.ackFor(seq);
    receiver.acked(1, seq);
    return sent.templates;
  }

  beforeAll(async () => {
    stack = await startStack({ ingester: { mqtt: { clientId: 'ingester-texts' }, auth: { adminToken: TOKEN } } });
    node = await connectNode(stack.broker.url, NODE);
  });

  afterAll(async () => {
    await node?.close();
    await stack?.close();
  });

  it('fills them in from the cache and, after a restart, from ClickHouse; Grafana and /templates show them', async () => {
    // Window 1 carries the texts; window 2 leaves them out (acknowledged by then).
    expect((await send(1, t0)).map((t) => t.template)).toEqual(Object.values(TEXTS));
    expect((await send(2, t0 + 60_000)).map((t) => t.template)).toEqual(['', '']);
    expect(stack.ingester.stats().templateTexts).toMatchObject({ fromCache: 2, fromStorage: 0, unresolved: 0 });

    // A restarted ingester (or another one on the shared subscription) has no cache: ClickHouse has the text.
    await stack.ingester.stop();
    const { ingester, api: url } = await stack.addIngester();
    expect((await send(3, t0 + 120_000)).map((t) => t.template)).toEqual(['', '']);
    expect(ingester.stats().templateTexts).toMatchObject({ fromCache: 0, fromStorage: 2, unresolved: 0, reads: 1 });

    // A range that holds only the windows whose batches left the texts out (lastSeen = window end - 1).
    const from = t0;
    const to = t0 + 180_000;
    const dashboard = JSON.parse(
      await readFile(path.resolve('docker/grafana/dashboards/node-detail.json'), 'utf8'),
    ) as {
      panels: { title: string; targets?: { rawSql: string }[] }[];
    };
    const panel = dashboard.panels.find((p) => p.targets?.some((t) => /FROM et_log_templates/.test(t.rawSql)));
    expect(panel, 'the node-detail template panel').toBeDefined();
    const sql = expandQuery(
      panel!.targets![0]!.rawSql,
      { node: NODE, container: ['app-0', 'app-1'] },
      { fromMs: from, toMs: to, intervalMs: 60_000 },
    );
    const rows = await (
      await stack.clickhouse.query({ query: sql, format: 'JSONEachRow' })
    ).json<Record<string, unknown>>();
    expect(rows.map((r) => r.template).sort()).toEqual(Object.values(TEXTS).sort());

    const res = await fetch(`${url}/api/v1/nodes/${NODE}/templates?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = (await res.json()) as { templates: { templateId: string; template: string; count: number }[] };
    expect(Object.fromEntries(body.templates.map((t) => [t.templateId, t.template]))).toEqual(TEXTS);
    expect(body.templates.map((t) => t.count)).toEqual([25, 25]);
  });
});
