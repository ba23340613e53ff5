/**
 * The ingester bin over HTTP (CLICKHOUSE_URL) with its connection to ClickHouse dropped in the
 * middle of inserts, through the TCP fault proxy: at the two points where a lost connection can
 * cost a batch or store it twice.
 * - After the server executed an insert and before its answer got through (the proxy drops the
 *   connection on the answer's first bytes; the server sends nothing until the query ends): the
 *   rows are in, the ingester saw an error and inserts again; the same deduplication token must
 *   make ClickHouse drop the copy.
 * - While the insert's body was on its way (the proxy drops the connection on the body's second
 *   chunk): the server ran nothing; the retry must store it.
 * The nodes resend what stays unacknowledged, as their outboxes do. Every batch must be
 * acknowledged, in the ledger once, and every table must hold each batch's rows once. A read
 * whose answer is lost is asked again (the API answers), and the ingester's log stays JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, decodeAck, topics, type Batch } from '@edge-telemetry/protocol';
import { TABLES } from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http/spawn.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startIngesterBin, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'dropped-connection-admin-token-0123456789';
const NODES = ['hd-1', 'hd-2', 'hd-3', 'hd-4'];
const PER_NODE = 40;

describe.runIf(haveMosquitto())('ingester over HTTP: connections dropped mid-insert', () => {
  let dir: string;
  let server: ClickHouseHttpProcess;
  let proxy: FaultProxy;
  let broker: Mosquitto;
  let ingester: RunningProcess;
  let api: string;
  let node: MqttClient;
  let direct: ClickHouseClient;
  const faults = { answerDrops: 0, bodyDrops: 0, readDrops: 0, armAnswer: 0, armBody: 0, armRead: 0 };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-ch-drop-'));
    server = await spawnClickHouseHttp({ dataDir: path.join(dir, 'ch'), databases: ['edge'] });
    // Per connection: is the request now on it an INSERT, and how many of its body chunks passed.
    const insertOn = new Map<number, number>();
    proxy = await startFaultProxy(
      { port: server.port },
      {
        inspect(direction, chunk, conn) {
          if (direction === 'up') {
            if (/^(POST|GET) /.test(chunk.subarray(0, 8).toString('latin1'))) {
              const line = chunk.subarray(0, chunk.indexOf('\r\n')).toString('latin1');
              if (/[?&]query=INSERT/.test(line)) insertOn.set(conn, 0);
              else insertOn.delete(conn);
            }
            const seen = insertOn.get(conn);
            if (seen === undefined) return 'forward';
            insertOn.set(conn, seen + 1);
            if (seen === 1 && faults.armBody > 0) {
              faults.armBody--;
              faults.bodyDrops++;
              return 'drop';
            }
            return 'forward';
          }
          if (insertOn.has(conn) && faults.armAnswer > 0) {
            insertOn.delete(conn);
            faults.armAnswer--;
            faults.answerDrops++;
            return 'drop';
          }
          if (!insertOn.has(conn) && faults.armRead > 0) {
            faults.armRead--;
            faults.readDrops++;
            return 'drop';
          }
          return 'forward';
        },
      },
    );
    broker = await startMosquitto();
    ({ proc: ingester, api } = await startIngesterBin({
      dir,
      brokerUrl: broker.url,
      clientId: 'drop-ingester',
      token: TOKEN,
      config: {
        clickhouse: { url: `http://127.0.0.1:${proxy.port}/edge` },
        writer: { flushIntervalMs: 50, retryMinMs: 50, retryMaxMs: 200 },
      },
    }));
    node = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'drop-nodes' });
    direct = createClient({ url: server.urlFor({ database: 'edge' }), log: { level: ClickHouseLogLevel.OFF } });
  }, 120_000);

  afterAll(async () => {
    await node?.endAsync();
    await ingester?.stop();
    await direct?.close();
    await proxy?.close();
    await server?.stop();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores and acknowledges every batch exactly once', async () => {
    const codec = createBatchCodec();
    // Enough log rows that a group's insert body spans several TCP chunks.
    const batches: Batch[] = NODES.flatMap((n) =>
      Array.from({ length: PER_NODE }, (_, i) => sampleBatch({ node: n, seq: i + 1, containers: 3, logs: 120 })),
    );
    const unacked = new Map(batches.map((b) => [`${b.node}/${b.seq}`, b]));
    let acks = 0;
    node.on('message', (_t, payload) => {
      const ack = decodeAck(payload);
      if (!ack.ok) return;
      acks++;
      for (const s of ack.value.seqs) unacked.delete(`${ack.value.node}/${s}`);
    });
    for (const n of NODES) await node.subscribeAsync(topics.ack(n), { qos: 1 });

    const publish = (b: Batch) => node.publishAsync(topics.batch(b.node), codec.encode(b), { qos: 1 });
    for (let i = 0; i < batches.length; i += 8) {
      // Alternate the two faults over the run.
      if (i % 32 === 0) faults.armAnswer++;
      if (i % 32 === 16) faults.armBody++;
      for (const b of batches.slice(i, i + 8)) await publish(b);
      await new Promise((r) => setTimeout(r, 60));
    }
    // As the nodes' outboxes do: send again what was not acknowledged, until all of it is.
    await waitFor(
      () => `acks of ${unacked.size} batches`,
      async () => {
        await new Promise((r) => setTimeout(r, 1500));
        if (unacked.size === 0) return true;
        for (const b of unacked.values()) await publish(b);
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    ).catch(() => undefined);
    expect([...unacked.keys()], ingester.output().slice(-3000)).toEqual([]);
    expect(acks).toBeGreaterThan(0);
    // Both faults happened, on this run's inserts.
    expect(faults.answerDrops).toBeGreaterThanOrEqual(3);
    expect(faults.bodyDrops).toBeGreaterThanOrEqual(3);

    const count = async (query: string) =>
      Number((await (await direct.query({ query, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
    const mine = `NodeName LIKE 'hd-%'`;
    expect(await count(`SELECT count() AS n FROM ${TABLES.ledger} WHERE ${mine}`)).toBe(batches.length);
    expect(
      await count(
        `SELECT count() AS n FROM (SELECT DISTINCT NodeName, Epoch, Seq FROM ${TABLES.ledger} WHERE ${mine})`,
      ),
    ).toBe(batches.length);
    const sum = (f: (b: Batch) => number) => batches.reduce((n, b) => n + f(b), 0);
    const expected: Array<[string, number]> = [
      [TABLES.metrics, sum((b) => b.metrics.length)],
      [TABLES.logs, sum((b) => b.logs.length)],
      [TABLES.templates, sum((b) => b.templates.length)],
      [TABLES.events, sum((b) => b.events.length)],
      [TABLES.health, batches.length],
      [TABLES.drops, sum((b) => b.drops.length)],
    ];
    for (const [table, n] of expected)
      expect(await count(`SELECT count() AS n FROM ${table} WHERE ${mine}`), table).toBe(n);

    // The ingester saw the failures and retried them.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(Number(/^et_ingester_insert_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(
      faults.answerDrops + faults.bodyDrops,
    );
  });

  it('asks a read again when its answer was lost, and keeps its log JSON', async () => {
    faults.armRead = 1;
    const res = await fetch(`${api}/api/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { nodes: number }).nodes).toBeGreaterThanOrEqual(NODES.length);
    expect(faults.readDrops).toBe(1);
    // Every line but the bin's start-up banner is the JSON log: the client prints nothing of its own.
    const lines = ingester
      .output()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('edge-telemetry ingester API:'));
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]);
  });
});
