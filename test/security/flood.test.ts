/**
 * Issue 16, "a flood test": one node sends 10,000 status messages and 10,000 garbage batches as
 * fast as it can while 20 other nodes publish normally. The other nodes' ack latency p99 must stay
 * within 2x of the same run without the flood (measured just before, same ingester, same broker),
 * and the flooding node's excess must be counted, per node, in /metrics and the fleet API. Before
 * the quotas and group-committed statuses, 3,000 statuses took an unrelated batch's ack from
 * 1.1 s to 17-29 s. Run against the shipped Mosquitto configuration (node accounts, the ingester
 * on its own listener) and against the embedded broker; the ingester runs on embedded ClickHouse.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, decodeAck, topics } from '@edge-telemetry/protocol';
import { createClickHouseClient, createIngester, resolveConfig, TABLES, type Ingester } from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { embeddedBroker, shippedMosquitto, type BrokerUnderTest } from './broker/brokers.js';
import { connect } from './broker/shipped-broker.js';

const NORMAL = Array.from({ length: 20 }, (_, i) => `gw-n${String(i + 1).padStart(2, '0')}`);
const FLOODER = 'gw-flood';
const ROUNDS = 8;
const ROUND_MS = 250;
const FLOOD = 10_000;
const TOKEN = 'flood-test-admin-token-0123456789abcdef';
const codec = createBatchCodec();

const brokers: [string, (ids: string[]) => Promise<BrokerUnderTest>][] = [['embedded', embeddedBroker]];
if (haveMosquitto()) brokers.push(['mosquitto', shippedMosquitto]);

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] ?? NaN;
}

describe.each(brokers)('a flooding node does not slow the others (%s broker)', (_name, start) => {
  let b: BrokerUnderTest;
  let dir: string;
  let client: ClickHouseClient;
  let ingester: Ingester;
  let api: string;
  const nodes = new Map<string, MqttClient>();
  /** Ack arrival per node and seq. */
  const acked = new Map<string, number>();
  let attempt = 0;

  beforeAll(async () => {
    b = await start([...NORMAL, FLOODER]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-flood-'));
    client = createClickHouseClient({ dataDir: dir });
    ingester = createIngester(
      resolveConfig(
        {
          mqtt: { url: b.ingesterUrl, clientId: 'ingester-flood', protocolVersion: 4, ...b.ingester },
          http: { port: 0 },
          clickhouse: { dataDir: dir },
          writer: { flushIntervalMs: 250 },
          auth: { adminToken: TOKEN },
          logLevel: 'silent',
        },
        {},
      ),
      { clickhouse: client },
    );
    api = (await ingester.start()).url;
    for (const id of NORMAL) {
      const c = await connect(b.nodeUrl, { ...b.nodeTransport, protocolVersion: 4, ...b.nodes[id], clientId: id });
      c.on('message', (_t, payload) => {
        const a = decodeAck(payload);
        if (a.ok) for (const seq of a.value.seqs) acked.set(`${a.value.node}/${seq}`, performance.now());
      });
      await c.subscribeAsync(topics.ack(id), { qos: 1 });
      nodes.set(id, c);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((c) => c.endAsync(true)));
    await ingester?.stop();
    await client?.close();
    await b?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every normal node publishes a batch each ROUND_MS for ROUNDS rounds; resolves with each batch's ack latency (ms). */
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
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    const keys = NORMAL.flatMap((id) => Array.from({ length: ROUNDS }, (_, r) => `${id}/${firstSeq + r}`));
    await expect.poll(() => keys.every((k) => acked.has(k)), { timeout: 60_000, interval: 100 }).toBe(true);
    return keys.map((k) => acked.get(k)! - sent.get(k)!);
  }

  /** The flooder, in its own process: 10,000 statuses and 10,000 garbage batches at QoS 0, as fast as it can. */
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
      { timeoutMs: 30_000 },
    );
    return new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`flooder exited ${code}: ${out}`))));
      child.stdin.write('go\n');
    });
  }

  // A latency ratio on a machine shared with other work: a load spike in one phase can fail it
  // once; a real regression (one insert per status was 17x) fails every try.
  it(
    'keeps the other nodes\u2019 ack p99 within 2x of the run without the flood, and counts the excess per node',
    { retry: 2, timeout: 180_000 },
    async () => {
      // Each try sends new seqs (a retry must not be answered as duplicates of the last try).
      const o = 1000 * attempt++;
      // A first round warms the engine and the caches; it is not measured.
      await normalTraffic(o + 1);
      // The same run without the flood just before and just after it: on a shared machine the load
      // drifts, and the flood is held against the slower of the two quiet runs around it.
      const before = p99(await normalTraffic(o + 50));
      const flooded = p99((await Promise.all([normalTraffic(o + 100), flood()]))[0]);
      const after = p99(await normalTraffic(o + 150));
      const base = Math.max(before, after);
      const stats = ingester.stats();
      const drop = stats.quotas.drops().find((d) => d.node === FLOODER);
      process.stdout.write(
        `flood (${_name}): ack p99 ${before.toFixed(0)} ms before, ${flooded.toFixed(0)} ms with, ${after.toFixed(0)} ms after (ratio ${(flooded / base).toFixed(2)}); flooder dropped ${drop?.messages ?? 0} messages, received ${stats.consumer.received}\n`,
      );
      expect(flooded).toBeLessThanOrEqual(2 * base);

      expect(drop?.messages).toBeGreaterThan(FLOOD);
      // The embedded broker shares the process with the ingester under `start`: it reads a flooding client slower.
      if (b.embedded) expect(b.embedded.stats().throttled).toBeGreaterThan(0);
      expect(stats.quotas.drops().map((d) => d.node)).toEqual([FLOODER]);
      const metrics = await (await fetch(`${api}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(`et_ingester_quota_dropped_messages_total\\{node="${FLOODER}"\\} ${drop!.messages}`),
      );
      const fleet = (await (
        await fetch(`${api}/api/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as {
        quotaDrops: { node: string; messages: number }[];
      };
      expect(fleet.quotaDrops).toEqual([expect.objectContaining({ node: FLOODER, messages: drop!.messages })]);

      // What was admitted cost one status row per insert (latest per node), not one insert per message.
      await ingester.stop();
      const rs = await client.query({
        query: `SELECT count() FROM ${TABLES.status} WHERE NodeName = {node:String}`,
        query_params: { node: FLOODER },
        format: 'JSONCompactEachRow',
      });
      const [[rows] = [0]] = await rs.json<[number | string]>();
      expect(Number(rows)).toBeLessThan(stats.consumer.statuses / 10);
    },
  );
});
