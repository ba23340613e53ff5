/**
 * Issue 16's flood set-up, shared by test/security/flood.test.ts (what the flood does: drops
 * counted per node, statuses group-committed, every normal batch acknowledged) and
 * bench/flood.bench.ts (how much it slows the others: ack p99 with the flood against the same
 * traffic without it). One broker (the shipped Mosquitto configuration or the embedded one), 20
 * normal nodes subscribed to their acks, a flooding node, and an ingester on embedded ClickHouse.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { ClickHouseClient } from '@clickhouse/client';
import { createBatchCodec, decodeAck, topics } from '@edge-telemetry/protocol';
import { createClickHouseClient, createIngester, resolveConfig, type Ingester } from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { waitFor } from '../support/wait.js';
import type { BrokerUnderTest } from './broker/brokers.js';
import { connect } from './broker/shipped-broker.js';

export const NORMAL = Array.from({ length: 20 }, (_, i) => `gw-n${String(i + 1).padStart(2, '0')}`);
export const FLOODER = 'gw-flood';
/** Statuses, and as many garbage batches, the flooder sends. */
export const FLOOD = 10_000;
export const TOKEN = 'flood-test-admin-token-0123456789abcdef';
const ROUNDS = 8;
const ROUND_MS = 250;
const codec = createBatchCodec();

export interface FloodRig {
  broker: BrokerUnderTest;
  client: ClickHouseClient;
  ingester: Ingester;
  api: string;
  /** Every normal node publishes a batch each 250 ms for 8 rounds; resolves, once all are acknowledged, with each batch's ack latency (ms). */
  normalTraffic(firstSeq: number): Promise<number[]>;
  /** The flooder, in its own process at the lowest CPU priority: 10,000 statuses and 10,000 garbage batches at QoS 0, as fast as it can. */
  flood(): Promise<void>;
  close(): Promise<void>;
}

export function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] ?? NaN;
}

/**
 * `quotas` overrides the ingester's per-node quotas, `reads` its API read bounds (their defaults
 * otherwise, as the benches measure them).
 */
export async function startFloodRig(
  start: (ids: string[]) => Promise<BrokerUnderTest>,
  quotas: { messagesPerSecond?: number; messageBurst?: number } = {},
  reads: Record<string, number> = {},
): Promise<FloodRig> {
  const b = await start([...NORMAL, FLOODER]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-flood-'));
  const client = createClickHouseClient({ dataDir: dir });
  const ingester = createIngester(
    resolveConfig(
      {
        mqtt: { url: b.ingesterUrl, clientId: 'ingester-flood', protocolVersion: 4, ...b.ingester },
        http: { port: 0 },
        clickhouse: { dataDir: dir },
        writer: { flushIntervalMs: 250 },
        auth: { adminToken: TOKEN },
        quotas,
        reads,
        logLevel: 'silent',
      },
      {},
    ),
    { clickhouse: client },
  );
  const api = (await ingester.start()).url;
  const nodes = new Map<string, MqttClient>();
  /** Ack arrival per node and seq. */
  const acked = new Map<string, number>();
  for (const id of NORMAL) {
    const c = await connect(b.nodeUrl, { ...b.nodeTransport, protocolVersion: 4, ...b.nodes[id], clientId: id });
    c.on('message', (_t, payload) => {
      const a = decodeAck(payload);
      if (a.ok) for (const seq of a.value.seqs) acked.set(`${a.value.node}/${seq}`, performance.now());
    });
    await c.subscribeAsync(topics.ack(id), { qos: 1 });
    nodes.set(id, c);
  }

  async function normalTraffic(firstSeq: number): Promise<number[]> {
    const sent = new Map<string, number>();
    for (let r = 0; r < ROUNDS; r++) {
      const seq = firstSeq + r;
      for (const [i, id] of NORMAL.entries()) {
        const bytes = codec.encode(sampleBatch({ node: id, seq, containers: 2, metricsPerContainer: 2, logs: 3 }));
        // Spread over the round, as a fleet's windows are.
        setTimeout(
          () => {
            sent.set(`${id}/${seq}`, performance.now());
            void nodes.get(id)!.publishAsync(topics.batch(id), bytes, { qos: 1 });
          },
          (i * ROUND_MS) / NORMAL.length,
        );
      }
      // The pace of a fleet's windows: a load generator, not a wait for something to happen.
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    const keys = NORMAL.flatMap((id) => Array.from({ length: ROUNDS }, (_, r) => `${id}/${firstSeq + r}`));
    await waitFor(
      () => `acks of the normal nodes' batches (${keys.filter((k) => !acked.has(k)).length} of ${keys.length} missing)`,
      () => keys.every((k) => acked.has(k) && sent.has(k)),
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    return keys.map((k) => acked.get(k)! - sent.get(k)!);
  }

  async function flood(): Promise<void> {
    const opts = { ...b.nodeTransport, protocolVersion: 4, ...b.nodes[FLOODER], clientId: FLOODER };
    const ca = opts.ca ? { ca: opts.ca.toString() } : {};
    // At the lowest CPU priority: the attacker's machine is not ours, only what it sends is.
    const child = spawn(
      'nice',
      [
        '-n',
        '19',
        process.execPath,
        '--import',
        'tsx',
        path.join(import.meta.dirname, 'flooder-main.ts'),
        b.nodeUrl,
        JSON.stringify({ ...opts, ...ca }),
        String(FLOOD),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      () => `the flooder to connect (${out})`,
      () => out.includes('connected'),
      { timeoutMs: 60_000 },
    );
    return new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`flooder exited ${code}: ${out}`))));
      child.stdin.write('go\n');
    });
  }

  return {
    broker: b,
    client,
    ingester,
    api,
    normalTraffic,
    flood,
    close: async () => {
      await Promise.all([...nodes.values()].map((c) => c.endAsync(true)));
      await ingester.stop();
      await client.close();
      await b.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
