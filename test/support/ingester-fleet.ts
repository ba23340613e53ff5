/**
 * Scale-out as deployed: N ingester processes (the bin, CLICKHOUSE_URL) on one MQTT shared
 * subscription of a real Mosquitto, all writing to one ClickHouse over HTTP (the test server in
 * its own process), with a watcher that sees every ack as the nodes do. Used by the scale-out
 * test and the fleet benches; the load comes from the CLI simulator or the caller.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createBatchCodec, decodeAck, parseUpTopic, topics } from '@edge-telemetry/protocol';
import { TABLES } from '@edge-telemetry/ingester';
import type { ServerStats } from './clickhouse-http/server.js';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from './clickhouse-http/spawn.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { startIngesterBin, type RunningProcess } from './processes.js';
import { waitFor } from './wait.js';

export const FLEET_TOKEN = 'fleet-admin-token-0123456789abcdefghijkl';
const DATABASE = 'edge_telemetry';
/**
 * The tables a batch's data rows go to, by the writer's name. Not the containers table: a
 * ReplacingMergeTree folds a node's repeated container rows even within one insert.
 */
const DATA_TABLES = [
  ['metrics', TABLES.metrics],
  ['logs', TABLES.logs],
  ['templates', TABLES.templates],
  ['events', TABLES.events],
  ['health', TABLES.health],
  ['drops', TABLES.drops],
] as const;
const USER = 'edge_telemetry';
const PASSWORD = 'fleet-password';

export interface FleetIngester {
  clientId: string;
  proc: RunningProcess | undefined;
  api: string;
}

export interface ExactlyOnce {
  /** Ledger rows, and distinct (node, epoch, seq) among them. */
  ledgerRows: number;
  batches: number;
  /**
   * Per data table: rows the stored batches hold (from each batch's claim, where the writer noted
   * its rows per table), and rows the table holds. A batch stored twice shows as more.
   */
  rows: Record<string, { inBatches: number; stored: number }>;
}

export interface FleetAck {
  key: string;
  ackedAt: number;
  latencyMs: number;
  /** Sealed to received by an ingester (the node's send and the broker), then received to ack. */
  toReceivedMs: number;
  receivedToAckMs: number;
  /** The end of the batch's window (ms), as its node stated it. */
  windowEnd: number;
}

export interface IngesterFleet {
  dir: string;
  server: ClickHouseHttpProcess;
  broker: Mosquitto;
  ingesters: FleetIngester[];
  /** A client straight to the server (not through any ingester). */
  clickhouse: ClickHouseClient;
  /** When each (node, epoch, seq) was first acknowledged, on this machine's clock. */
  ackedAt: Map<string, number>;
  /**
   * When the broker first delivered each batch (node, epoch, seq) to the watcher, beside the
   * ingesters' shared subscription: its publish as the broker passed it on.
   */
  upAt: Map<string, number>;
  start(i: number): Promise<void>;
  /** SIGKILL: nothing flushed, nothing said to the broker. */
  kill(i: number): Promise<void>;
  /** SIGTERM (orderly stop), then started again. */
  restart(i: number): Promise<void>;
  /**
   * The lines matching `pattern` that any ingester process of this fleet wrote (the killed and the
   * stopped ones too), each after its client id: what a wait on the ingesters says when it times out.
   */
  logLines(pattern: RegExp): string[];
  /**
   * Resolves once every running ingester's writer has nothing queued (its last groups are in the
   * ledger), with the time that took (ms). A backlog may take minutes: it fails only when the
   * queues stop shrinking for `stallMs` (default 180 s: longer than the ingester's 60 s request
   * timeout and its retry, so one statement that hangs on a starved machine is not a stall), not
   * after a fixed time, and then says what each ingester reports of itself.
   */
  settled(o?: { stallMs?: number }): Promise<number>;
  /**
   * Each stored and acknowledged batch of nodes LIKE `pattern`: when its ack came, its latency
   * (ack time minus its sentAt, set when the node sealed it), and when an ingester received it.
   */
  acks(pattern: string): Promise<FleetAck[]>;
  /** The engine's accounting so far (the test server's own figures). */
  engineStats(): Promise<ServerStats>;
  /** Every stored batch of nodes LIKE `pattern` (key as in ackedAt) and the ingester that stored it. */
  storedBy(pattern: string): Promise<Array<{ key: string; ingester: string }>>;
  /** Call after settled(): a group half inserted is not in the ledger yet, and its rows would count as extra. */
  exactlyOnce(pattern: string): Promise<ExactlyOnce>;
  close(): Promise<void>;
}

export async function startIngesterFleet(o: {
  ingesters: number;
  /** Per-ingester config overrides (writer, logLevel, ...). */
  config?: Record<string, unknown>;
}): Promise<IngesterFleet> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-fleet-'));
  const server = await spawnClickHouseHttp({
    dataDir: path.join(dir, 'clickhouse'),
    databases: [DATABASE],
    users: { [USER]: PASSWORD },
  });
  const broker = await startMosquitto();
  const url = server.urlFor({ user: USER, password: PASSWORD, database: DATABASE });
  const clickhouse = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  const ingesters: FleetIngester[] = Array.from({ length: o.ingesters }, (_, i) => ({
    clientId: `fleet-ingester-${i + 1}`,
    proc: undefined,
    api: '',
  }));
  const ackedAt = new Map<string, number>();
  const upAt = new Map<string, number>();
  /** Every ingester process started, in order, for logLines (a restart replaces FleetIngester.proc). */
  const started: Array<{ clientId: string; proc: RunningProcess }> = [];
  const heads = createBatchCodec();
  const watcher: MqttClient = await mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: 'fleet-ack-watcher',
  });
  watcher.on('message', (topic, payload) => {
    const now = Date.now();
    const up = parseUpTopic(topic);
    if (up?.kind === 'batch') {
      // The frame head names the batch without decompressing it.
      const id = heads.head(payload);
      if (id.ok && id.value.batch) {
        const k = `${up.node}/${id.value.batch.epoch}/${id.value.batch.seq}`;
        if (!upAt.has(k)) upAt.set(k, now);
      }
      return;
    }
    const ack = decodeAck(payload);
    if (!ack.ok) return;
    for (const s of ack.value.seqs) {
      const k = `${ack.value.node}/${ack.value.epoch}/${s}`;
      if (!ackedAt.has(k)) ackedAt.set(k, now);
    }
  });
  await watcher.subscribeAsync('et/v1/+/down/ack', { qos: 1 });
  await watcher.subscribeAsync(topics.batch('+'), { qos: 0 });

  const start = async (i: number) => {
    const ing = ingesters[i] as FleetIngester;
    const own = path.join(dir, ing.clientId);
    await mkdir(own, { recursive: true });
    const { proc, api } = await startIngesterBin({
      dir: own,
      brokerUrl: broker.url,
      clientId: ing.clientId,
      token: FLEET_TOKEN,
      clickhouseUrl: url,
      config: {
        ...o.config,
        mqtt: { url: broker.url, protocolVersion: 5, clientId: ing.clientId, sharedGroup: 'ingest' },
      },
    });
    ing.proc = proc;
    ing.api = api;
    started.push({ clientId: ing.clientId, proc });
  };
  const fleet: IngesterFleet = {
    dir,
    server,
    broker,
    ingesters,
    clickhouse,
    ackedAt,
    upAt,
    start,
    async kill(i) {
      await ingesters[i]?.proc?.stop('SIGKILL');
    },
    async restart(i) {
      await ingesters[i]?.proc?.stop('SIGTERM');
      await start(i);
    },
    logLines(pattern) {
      return started.flatMap(({ clientId, proc }) =>
        proc
          .output()
          .split('\n')
          .filter((l) => pattern.test(l))
          .map((l) => `${clientId}: ${l}`),
      );
    },
    async settled({ stallMs = 180_000 } = {}) {
      // Received and not stored yet: still being handled (a node lane, template texts) or in the
      // writer's queue. An empty queue alone is not enough: a batch waiting in its lane for a
      // keyframe read is in neither, and stored while exactlyOnce counts. Handling first: what
      // leaves it goes to the queue, read after it.
      const queued = async (ing: FleetIngester) => {
        if (!ing.proc || ing.proc.child.exitCode !== null || ing.proc.child.signalCode !== null) return 0;
        const metrics = await (await fetch(`${ing.api}/metrics`)).text();
        const handling = /^et_ingester_handling_messages (\d+)$/m.exec(metrics);
        if (!handling) throw new Error('no et_ingester_handling_messages in /metrics');
        const r = (await (await fetch(`${ing.api}/readyz`)).json()) as { writer: { queuedBatches: number } };
        return Number(handling[1]) + r.writer.queuedBatches;
      };
      const t0 = Date.now();
      let least = Infinity;
      let shrunkAt = t0;
      let left = 0;
      // Done, or stuck: a queue that stopped shrinking fails with its size, a fixed bound would fail a long drain.
      const end = await waitFor(
        'the ingesters to store what they hold',
        async () => {
          // An ingester that does not answer counts as no progress (the stall bound ends the wait).
          const each = await Promise.all(ingesters.map(queued)).catch(() => undefined);
          if (each !== undefined) {
            left = each.reduce((a, b) => a + b, 0);
            if (left === 0) return 'drained';
            if (left < least) {
              least = left;
              shrunkAt = Date.now();
            }
          }
          return Date.now() - shrunkAt > stallMs ? 'stuck' : undefined;
        },
        { timeoutMs: Number.MAX_SAFE_INTEGER, intervalMs: 200 },
      );
      if (end === 'stuck') {
        // What each one says of itself: its writer state, its inserts, and its last warnings.
        const states = await Promise.all(
          ingesters.map(async (ing) => {
            if (!ing.proc || ing.proc.child.exitCode !== null || ing.proc.child.signalCode !== null)
              return `${ing.clientId}: not running`;
            const ready = await fetch(`${ing.api}/readyz`)
              .then((r) => r.text())
              .catch((e: Error) => e.message);
            const metrics = await fetch(`${ing.api}/metrics`)
              .then((r) => r.text())
              .catch(() => '');
            const counters = metrics
              .split('\n')
              .filter((l) =>
                /^et_ingester_(inserts|insert_failures|batches_stored|batches_duplicate|queue_batches)/.test(l),
              );
            const warnings = ing.proc
              .output()
              .split('\n')
              .filter((l) => /"level":(40|50)/.test(l))
              .slice(-5);
            return `${ing.clientId}: ${ready} ${counters.join(', ')}\n  ${warnings.join('\n  ')}`;
          }),
        );
        throw new Error(
          `the ingesters' writer queues held ${left} batches and stored none for ${stallMs} ms:\n${states.join('\n')}`,
        );
      }
      return Date.now() - t0;
    },
    async engineStats() {
      return (await (await fetch(`${server.url}/test-server/stats`)).json()) as ServerStats;
    },
    async storedBy(pattern) {
      const rs = await clickhouse.query({
        query: `SELECT NodeName, Epoch, Seq, IngesterId FROM ${TABLES.ledger} WHERE NodeName LIKE {p:String}`,
        query_params: { p: pattern },
        format: 'JSONCompactEachRow',
      });
      return (await rs.json<[string, number, number, string]>()).map(([node, epoch, seq, ingester]) => ({
        key: `${node}/${epoch}/${seq}`,
        ingester,
      }));
    },
    async acks(pattern) {
      const rs = await clickhouse.query({
        query: `SELECT NodeName, Epoch, Seq, toUnixTimestamp64Milli(NodeSentAt) AS sent, toUnixTimestamp64Milli(ReceivedAt) AS received,
          toUnixTimestamp64Milli(WindowEnd) AS windowEnd
          FROM ${TABLES.ledger} WHERE NodeName LIKE {p:String}`,
        query_params: { p: pattern },
        format: 'JSONCompactEachRow',
      });
      const out: FleetAck[] = [];
      for (const [node, epoch, seq, sent, received, windowEnd] of await rs.json<
        [string, number, number, string, string, string]
      >()) {
        const key = `${node}/${epoch}/${seq}`;
        const at = ackedAt.get(key);
        if (at !== undefined)
          out.push({
            key,
            ackedAt: at,
            latencyMs: at - Number(sent),
            toReceivedMs: Number(received) - Number(sent),
            receivedToAckMs: at - Number(received),
            windowEnd: Number(windowEnd),
          });
      }
      return out;
    },
    async exactlyOnce(pattern) {
      const one = async (query: string) =>
        Number(
          (
            await (
              await clickhouse.query({ query, query_params: { p: pattern }, format: 'JSONEachRow' })
            ).json<{
              n: string;
            }>()
          )[0]?.n,
        );
      const mine = 'NodeName LIKE {p:String}';
      const rows: ExactlyOnce['rows'] = {};
      for (const [name, table] of DATA_TABLES) {
        const inBatches = await one(
          // The body's first line is `z:` and its head, plain JSON (writer/claims.ts).
          `SELECT sum(JSONExtractUInt(substring(splitByChar('\\n', Body)[1], 3), 'rows', '${name}')) AS n FROM (
            SELECT argMin(Body, _block_number) AS Body FROM ${TABLES.claims}
            WHERE ${mine} AND (NodeName, Epoch, Seq) IN (SELECT NodeName, Epoch, Seq FROM ${TABLES.ledger} WHERE ${mine})
            GROUP BY NodeName, Epoch, Seq)`,
        );
        rows[table] = { inBatches, stored: await one(`SELECT count() AS n FROM ${table} WHERE ${mine}`) };
      }
      return {
        ledgerRows: await one(`SELECT count() AS n FROM ${TABLES.ledger} WHERE ${mine}`),
        batches: await one(`SELECT uniqExact(NodeName, Epoch, Seq) AS n FROM ${TABLES.ledger} WHERE ${mine}`),
        rows,
      };
    },
    async close() {
      for (const ing of ingesters) await ing.proc?.stop();
      await watcher.endAsync();
      await clickhouse.close();
      await server.stop();
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    // The first runs the migrations; the others find them applied and start side by side (each
    // start is seconds of a loaded machine's time). Settled, so none is left running unstopped.
    await start(0);
    const rest = await Promise.allSettled(ingesters.slice(1).map((_, k) => start(k + 1)));
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return fleet;
}

/** The q-quantile (0..1) of `xs` by nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}
