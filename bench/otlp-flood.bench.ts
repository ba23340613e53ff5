/**
 * The collector under an OTLP flood, inside the gateway's budget (issue 19, "Backpressure"): the
 * real collector bin in a cgroup of 128 MiB and 0.2 CPU (test/support/cgroup.ts), OTLP/HTTP on
 * with its default limits but an item rate of 5,000/s (burst 10,000), its uplink to a real
 * Mosquitto and an acker; clients outside the cgroup
 * send metric requests as fast as the collector answers them and never wait (they ignore
 * Retry-After: the worst case, not a polite SDK), for ET_BENCH_OTLP_FLOOD_S seconds (30).
 *
 * Each request is 500 gauge points with fresh attribute values (so the series cap is hit and the
 * mapping does its full work), protobuf. Figure: the collector's peak RSS (VmHWM) over the flood
 * against its RSS when idle with the receiver on, same run; the note says how the requests were
 * answered (200 / 429 / 503), the items taken, and the cgroup's OOM kills (memory.oom_control).
 *
 * `otlp.worst_request`: the same bin and cgroup with default limits (test/otlp/heavy-requests.ts)
 * is sent the requests that grow most when decoded, one and four at once: the session-15 15 KB gzip
 * of a 15 MiB log record (JSON and protobuf), and the largest records within the limits (4 MiB of
 * ASCII as JSON, of `ā` as JSON and protobuf). Figure: its peak RSS (VmHWM) after them against its
 * peak after three full batches of the OpenTelemetry JS SDK's logs (512 records, OTLP/HTTP JSON),
 * same run; the note says how each was answered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { BenchCase, Figure } from './harness.js';
import { cgroupVersion, createCgroup } from '../test/support/cgroup.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/ports.js';
import { procStatus } from '../test/support/processes.js';
import { waitFor } from '../test/support/wait.js';
import { startAcker } from '../test/uplink/acker.js';
import { runCollector } from '../test/collector/rig.js';
import { oneLogRecordGzip, postLogs, sdkLogExport, startOtlpCollectorInCgroup } from '../test/otlp/heavy-requests.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTO = path.join(here, '../packages/collector/proto');
const LIMITS = { memoryBytes: 128 * 2 ** 20, cpus: 0.2 };
const MIB = 2 ** 20;
const FLOOD_S = Number(process.env.ET_BENCH_OTLP_FLOOD_S ?? 30);
const CLIENTS = 32;
/** Below what the collector maps at 0.2 CPU (~10,000 points/s measured here): the default 20,000 would never be reached, and the clients would only be slowed by the answers' pace. */
const ITEMS_PER_S = 5000;
const POINTS = 500;
const BODIES = 64;

/** Requests of POINTS gauge points each, every point its own series (request_id), protobuf. */
function floodBodies(): Buffer[] {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => path.join(PROTO, t);
  root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
  const Req = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  const now = Date.now();
  return Array.from({ length: BODIES }, (_, b) => {
    const dataPoints = Array.from({ length: POINTS }, (_, i) => ({
      timeUnixNano: `${now + b}000000`,
      asDouble: i,
      attributes: [{ key: 'request_id', value: { stringValue: `r-${b * POINTS + i}` } }],
    }));
    const req = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] },
          scopeMetrics: [{ metrics: [{ name: 'flood.latency', gauge: { dataPoints } }] }],
        },
      ],
    };
    return Buffer.from(Req.encode(Req.fromObject(req)).finish());
  });
}

const run = async (): Promise<Figure[]> => {
  if (cgroupVersion() === undefined) throw new Error('needs root and a writable cgroup v1 or v2 hierarchy');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-otlp-flood-'));
  const broker = await startMosquitto({ persistence: false });
  const acker = await startAcker(broker.url);
  const cgroup = await createCgroup(`otlp-flood-${process.pid}`, LIMITS);
  const port = await freePort();
  const collector = await runCollector({
    dir,
    node: 'bench-otlp-flood',
    dockerRoot: dir,
    brokerUrl: broker.url,
    cgroup,
    config: {
      sources: {
        docker: { enabled: false },
        logFiles: { enabled: false },
        otlp: { enabled: true, port, itemsPerSecond: ITEMS_PER_S, burstItems: 2 * ITEMS_PER_S },
      },
    },
  });
  try {
    const url = `http://127.0.0.1:${port}/v1/metrics`;
    const bodies = floodBodies();
    const post = (body: Buffer) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status;
        },
        () => 0,
      );
    await waitFor(
      () => `the collector's OTLP receiver; output:\n${collector.output().slice(-2000)}`,
      async () => (await post(Buffer.alloc(0))) === 200,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const idle = await procStatus(collector.child.pid, 'VmRSS');
    const statuses = new Map<number, number>();
    const until = Date.now() + FLOOD_S * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < until && collector.child.exitCode === null) {
          const s = await post(bodies[next++ % bodies.length]!);
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
        }
      }),
    );
    const hwm = await procStatus(collector.child.pid, 'VmHWM');
    const oom = await cgroup.oomKills();
    const cgroupPeak = await cgroup.peakBytes();
    const cpu = await cgroup.cpuSeconds();
    const alive = collector.child.exitCode === null && collector.child.signalCode === null;
    const text = await fetch(`${collector.httpUrl()}/metrics`).then((r) => r.text());
    const items = (outcome: string) =>
      Number(
        new RegExp(`^collector_otlp_items_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      );
    const answers = [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s === 0 ? 'no answer' : s}: ${n}`)
      .join(', ');
    return [
      {
        name: 'otlp.flood_peak_rss_mib',
        value: hwm / MIB,
        unit: 'MiB',
        baseline: idle / MIB,
        ratio: hwm / idle,
        note: `collector bin in a cgroup v${cgroup.version} of 128 MiB / 0.2 CPU, OTLP/HTTP with default limits but itemsPerSecond ${ITEMS_PER_S} and burstItems ${2 * ITEMS_PER_S}, ${CLIENTS} clients flooding ${FLOOD_S} s with ${POINTS}-point protobuf requests (fresh series each), never waiting: answers ${answers}; items accepted ${items('accepted')}, refused ${items('refused')} (collector_otlp_items_total); cgroup CPU ${cpu.toFixed(1)} s, cgroup peak ${((cgroupPeak ?? NaN) / MIB).toFixed(0)} MiB, OOM kills ${oom}, ${alive ? 'still running' : 'DIED'} after the flood; baseline: its RSS idle with the receiver on`,
      },
    ];
  } finally {
    await collector.stop('SIGKILL');
    await cgroup.remove();
    await acker.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
};

const worstRequest = async (): Promise<Figure[]> => {
  if (cgroupVersion() === undefined) throw new Error('needs root and a writable cgroup v1 or v2 hierarchy');
  const c = await startOtlpCollectorInCgroup(`otlp-worst-${process.pid}`);
  try {
    for (let i = 0; i < 3; i++) if ((await sdkLogExport(c.url)) !== 0) throw new Error("the SDK's export failed");
    const baseline = await c.vm('VmHWM');
    const text = 4 * MIB - 1024;
    const requests = [
      ['15 MiB JSON', 'json', oneLogRecordGzip('json', 'A'.repeat(15 * MIB))],
      ['15 MiB protobuf', 'protobuf', oneLogRecordGzip('protobuf', 'A'.repeat(15 * MIB))],
      ['4 MiB ASCII JSON', 'json', oneLogRecordGzip('json', 'A'.repeat(text))],
      ['4 MiB ā JSON', 'json', oneLogRecordGzip('json', 'ā'.repeat(text / 2))],
      ['4 MiB ā protobuf', 'protobuf', oneLogRecordGzip('protobuf', 'ā'.repeat(text / 2))],
    ] as const;
    const answered: string[] = [];
    for (const [what, format, gzip] of requests)
      for (const n of [1, 4]) {
        const got = await Promise.all(Array.from({ length: n }, () => postLogs(c.url, format, gzip)));
        answered.push(`${what} x${n}: ${got.map((a) => a.status).join('/')}`);
      }
    const hwm = await c.vm('VmHWM');
    const alive = c.run.child.exitCode === null && c.run.child.signalCode === null;
    return [
      {
        name: 'otlp.worst_request_peak_rss_mib',
        value: hwm / MIB,
        unit: 'MiB',
        baseline: baseline / MIB,
        ratio: hwm / baseline,
        note: `collector bin in a cgroup v${c.cgroup.version} of 128 MiB / 0.2 CPU, OTLP/HTTP with default limits, gzip bodies of one log record, each sent alone then 4 at once: ${answered.join('; ')}; cgroup peak ${(((await c.cgroup.peakBytes()) ?? NaN) / MIB).toFixed(0)} MiB, OOM kills ${await c.cgroup.oomKills()}, ${alive ? 'still running' : 'DIED'}; baseline: its peak after three full batches of the OpenTelemetry JS SDK's logs (512 records, OTLP/HTTP JSON)`,
      },
    ];
  } finally {
    await c.close();
  }
};

export const benches: BenchCase[] = [
  { name: 'otlp.flood', run },
  { name: 'otlp.worst_request', run: worstRequest },
];
