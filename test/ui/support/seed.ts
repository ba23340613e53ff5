/**
 * Nodes seeded for the browser tests the way collectors do it: a status message, encoded batches
 * on their topics, and a wait for the ingester's acks.
 */
import { createBatchCodec, DDSketch, encodeStatus, topics, type Batch } from '@edge-telemetry/protocol';
import { sampleBatch } from '../../support/batches.js';
import { connectNode } from '../../support/node-client.js';

export interface SeedNode {
  node: string;
  state: 'online' | 'offline';
  /** One batch per minute, ending now. */
  minutes: number;
}

/** A batch for minute `k` before `now`, with metric values that move over time so charts have a shape. */
export function seededBatch(node: string, seq: number, now: number, k: number): Batch {
  const b = sampleBatch({ node, seq, now: now - k * 60_000, logs: 10 });
  const metrics = b.metrics.map((m, i) => {
    const level = 20 + 15 * Math.sin((seq + i) / 3) + i;
    const values = [level, level + 2, level + 1, level + 4];
    const sketch = new DDSketch();
    for (const v of values) sketch.add(v);
    return {
      ...m,
      count: 4,
      sum: values.reduce((a, v) => a + v, 0),
      min: Math.min(...values),
      max: Math.max(...values),
      last: values[3]!,
      sketch: sketch.toData(),
    };
  });
  // An application's series and its traces, as the OTLP receiver makes them.
  const durations = [12, 15, 20, 180 + seq];
  const latency = new DDSketch();
  for (const v of durations) latency.add(v);
  const appStats = {
    start: b.windowStart,
    end: b.windowEnd,
    count: durations.length,
    sum: durations.reduce((a, v) => a + v, 0),
    min: 12,
    max: 180 + seq,
    sketch: latency.toData(),
  };
  metrics.push({
    ...appStats,
    container: 'app-1',
    metric: 'http.server.request.duration',
    last: 20,
    gaps: 0,
    resets: 0,
    attrs: { 'http.route': '/cart', 'service.name': 'checkout' },
  });
  const spans = [
    { ...appStats, status: 0 as const, errors: [], traceIds: [seq.toString(16).padStart(32, 'a')] },
    {
      ...appStats,
      count: 1,
      sum: 5000,
      min: 5000,
      max: 5000,
      status: 2 as const,
      errors: ['TimeoutError'],
      traceIds: [],
    },
  ].map((x) => ({ ...x, container: 'app-1', service: 'checkout', operation: 'GET /cart', kind: 2 as const }));
  return {
    ...b,
    metrics,
    spans,
    health: { ...b.health, uplinkBytes: 2048 + seq * 10, rawBytes: 40_960 + seq * 300 },
  };
}

/** Publishes every node's status and batches as its collector would, and waits for all acks. */
export async function seedFleet(brokerUrl: string, nodes: SeedNode[], now = Date.now()): Promise<void> {
  const codec = createBatchCodec();
  await Promise.all(
    nodes.map(async (n) => {
      const node = await connectNode(brokerUrl, n.node);
      const { client } = node;
      await client.publishAsync(
        topics.status(n.node),
        encodeStatus({ v: 1, node: n.node, state: 'online', at: now, agentVersion: '0.1.0' }),
        { qos: 1, retain: true },
      );
      for (let seq = 1; seq <= n.minutes; seq++)
        await client.publishAsync(topics.batch(n.node), codec.encode(seededBatch(n.node, seq, now, n.minutes - seq)), {
          qos: 1,
        });
      for (let seq = 1; seq <= n.minutes; seq++) await node.ackFor(seq, 15_000);
      if (n.state === 'offline')
        await client.publishAsync(
          topics.status(n.node),
          encodeStatus({ v: 1, node: n.node, state: 'offline', at: now, agentVersion: '0.1.0' }),
          { qos: 1, retain: true },
        );
      await node.close();
    }),
  );
}
