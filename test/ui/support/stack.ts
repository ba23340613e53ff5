/**
 * What the browser tests run against: aedes in-process on a loopback port, a real ingester on an
 * embedded ClickHouse in its own temp dir, and nodes seeded the way collectors do it (status
 * message, encoded batches on their topics, waiting for the ingester's acks).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { createBatchCodec, decodeAck, DDSketch, encodeStatus, topics, type Batch } from '@edge-telemetry/protocol';
import { createIngester, resolveConfig, type Ingester } from '@edge-telemetry/ingester';
import { sampleBatch } from '../../../packages/ingester/test-support/batches.js';

export interface UiStack {
  url: string;
  brokerUrl: string;
  ingester: Ingester;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The API's first admin bearer token (auth.adminToken, at least 32 characters). */
  adminToken: string;
}

export async function startUiStack(opts: StackOptions): Promise<UiStack> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-ui-stack-'));
  const config = resolveConfig(
    {
      mqtt: { url: brokerUrl, clientId: 'ingester-ui' },
      http: { host: '127.0.0.1', port: 0 },
      clickhouse: { dataDir: dir },
      writer: { flushIntervalMs: 50, retryMinMs: 20, retryMaxMs: 100 },
      auth: { adminToken: opts.adminToken },
      logLevel: 'silent',
    },
    {},
  );
  const ingester = createIngester(config);
  const { url } = await ingester.start();
  return {
    url,
    brokerUrl,
    ingester,
    async stop() {
      await ingester.stop();
      await new Promise<void>((r) => aedes.close(() => server.close(() => r())));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

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
  return { ...b, metrics, health: { ...b.health, uplinkBytes: 2048 + seq * 10, rawBytes: 40_960 + seq * 300 } };
}

/** Publishes every node's status and batches as its collector would, and waits for all acks. */
export async function seedFleet(brokerUrl: string, nodes: SeedNode[], now = Date.now()): Promise<void> {
  const codec = createBatchCodec();
  await Promise.all(
    nodes.map(async (n) => {
      const client = await mqtt.connectAsync(brokerUrl, { clientId: n.node, protocolVersion: 4 });
      const pending = new Set(Array.from({ length: n.minutes }, (_, i) => i + 1));
      const acked = new Promise<void>((resolve) =>
        client.on('message', (_t, payload) => {
          const a = decodeAck(payload);
          if (a.ok) for (const s of a.value.seqs) pending.delete(s);
          if (pending.size === 0) resolve();
        }),
      );
      await client.subscribeAsync(topics.ack(n.node), { qos: 1 });
      await client.publishAsync(
        topics.status(n.node),
        encodeStatus({ v: 1, node: n.node, state: 'online', at: now, agentVersion: '0.1.0' }),
        { qos: 1, retain: true },
      );
      for (let seq = 1; seq <= n.minutes; seq++)
        await client.publishAsync(topics.batch(n.node), codec.encode(seededBatch(n.node, seq, now, n.minutes - seq)), {
          qos: 1,
        });
      await withTimeout(acked, 15_000, `acks for ${n.node}`);
      if (n.state === 'offline')
        await client.publishAsync(
          topics.status(n.node),
          encodeStatus({ v: 1, node: n.node, state: 'offline', at: now, agentVersion: '0.1.0' }),
          { qos: 1, retain: true },
        );
      await client.endAsync();
    }),
  );
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
