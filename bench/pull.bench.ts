/**
 * Log pull, issue 7: a 50 MB (raw line bytes) pull of real log lines (Loghub 2k sets, one
 * container per data set, cycled with advancing timestamps) from a real collector through the TCP
 * fault proxy, Mosquitto and the ingester on embedded ClickHouse.
 *
 * - pull.link_efficiency: the link-limited minimum time (bytes that crossed the proxy upstream
 *   during the pull, divided by the link rate, 1 Mbit/s) over the actual time from request to
 *   `done`. Baseline: 1, a link used perfectly.
 * - pull.compression_ratio: raw line bytes over bytes on the wire; baseline: the same text as one
 *   zstd frame at the same level (what chunking costs).
 * - pull.throughput_mb_per_s: raw MB/s unthrottled; baseline: reading and formatting the same
 *   lines from the node's store alone.
 * - pull.first_line_ms: the CLI's time to its first line (--follow, unthrottled); baseline: one
 *   API round trip (GET of the pull's status).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Compressor } from 'zstd-napi';
import { formatPulledLine, type StoredLogRecord } from '@edge-telemetry/collector';
import type { BenchCase, Figure } from './harness.js';
import { ADMIN_TOKEN, startPullRig, syntheticRecords, T0, type PullRig } from '../test/pull/rig.js';
import { waitFor } from '../test/support/wait.js';
import { runLogsPull } from '../packages/cli/src/commands/logs-pull.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOGHUB = path.join(here, '../../shared/corpora/loghub2k');
const SETS = ['Android', 'Apache', 'BGL', 'HDFS', 'HPC', 'Hadoop', 'OpenSSH', 'Spark', 'Windows', 'Zookeeper'];
const RAW_BYTES = 50 * 1000 * 1000;
const LINK_BYTES_PER_S = 1_000_000 / 8;
const SPAN_MS = 6 * 3_600_000;
const NODE = 'bench-pull-1';

function* loghubRecords(rawBytes: number): Generator<StoredLogRecord> {
  const sets = SETS.map((s) => ({
    name: s.toLowerCase(),
    lines: readFileSync(path.join(LOGHUB, s, `${s}_2k.log`), 'utf8')
      .split(/\r?\n/)
      .filter(Boolean),
  }));
  const perLine = 140;
  const n = Math.ceil(rawBytes / perLine);
  let bytes = 0;
  for (let i = 0; bytes < rawBytes; i++) {
    const set = sets[i % sets.length] as { name: string; lines: string[] };
    const line = set.lines[Math.floor(i / sets.length) % set.lines.length] as string;
    bytes += Buffer.byteLength(line);
    yield { ts: T0 + Math.floor((i * SPAN_MS) / n), container: set.name, stream: 'stdout', level: 2, line };
  }
}

async function waitDone(
  rig: PullRig,
  id: string,
  timeoutMs: number,
): Promise<{ state: string; bytesReceived: number; linesReceived: number }> {
  let last = '';
  const s = await waitFor(
    () => `pull ${id} (still ${last})`,
    async () => {
      const s = (await (await rig.call(`/api/v1/log-pulls/${id}`)).json()) as {
        state: string;
        bytesReceived: number;
        linesReceived: number;
        error?: string;
      };
      last = s.state;
      return s.state !== 'queued' && s.state !== 'running' ? s : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  if (s.state !== 'done') throw new Error(`pull ${id} ${s.state}: ${s.error ?? ''}`);
  return s;
}

async function pull(rig: PullRig): Promise<{ ms: number; wire: number; raw: number; lines: number }> {
  const up0 = rig.proxy.bytes.up;
  const t0 = Date.now();
  const res = await rig.call(`/api/v1/nodes/${NODE}/log-pulls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ since: T0, until: T0 + SPAN_MS }),
  });
  const { id } = (await res.json()) as { id: string };
  const s = await waitDone(rig, id, 15 * 60_000);
  return { ms: Date.now() - t0, wire: rig.proxy.bytes.up - up0, raw: s.bytesReceived, lines: s.linesReceived };
}

async function firstLineMs(rig: PullRig): Promise<number> {
  const stdout = new PassThrough();
  const t0 = process.hrtime.bigint();
  const first = new Promise<number>((resolve) =>
    stdout.once('data', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6)),
  );
  stdout.resume();
  const done = runLogsPull(
    ['--node', NODE, '--since', String(T0), '--until', String(T0 + SPAN_MS / 6), '--follow'],
    { stdout, stderr: new PassThrough() },
    { EDGE_TELEMETRY_URL: rig.api, EDGE_TELEMETRY_TOKEN: ADMIN_TOKEN },
  );
  const ms = await first;
  if ((await done) !== 0) throw new Error('CLI pull failed');
  return ms;
}

async function apiRoundTripMs(rig: PullRig): Promise<number> {
  const res = await rig.call(`/api/v1/nodes/${NODE}/log-pulls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ since: T0, tail: 1 }),
  });
  const { id } = (await res.json()) as { id: string };
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint();
    await (await rig.call(`/api/v1/log-pulls/${id}`)).json();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[10] as number;
}

async function storeReadMbPerS(rig: PullRig): Promise<number> {
  const store = rig.collector?.store;
  if (!store) throw new Error('no store');
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for await (const r of store.query({ since: T0, until: T0 + SPAN_MS }))
    bytes += Buffer.byteLength(formatPulledLine(r));
  return bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function oneFrameRatio(rig: PullRig): Promise<number> {
  const store = rig.collector?.store;
  if (!store) throw new Error('no store');
  const lines: string[] = [];
  for await (const r of store.query({ since: T0, until: T0 + SPAN_MS })) lines.push(formatPulledLine(r));
  const text = Buffer.from(lines.join('\n'));
  const z = new Compressor();
  z.setParameters({ compressionLevel: 6 });
  return text.length / z.compress(text).length;
}

export const benches: BenchCase[] = [
  {
    name: 'pull',
    async run(): Promise<Figure[]> {
      const real = existsSync(LOGHUB);
      const records = real ? loghubRecords(RAW_BYTES) : syntheticRecords(RAW_BYTES / 110, SPAN_MS);
      const rig = await startPullRig({ node: NODE, records, pull: { chunkBytes: 64 * 1024 } });
      try {
        const fast = await pull(rig);
        const storeMbs = await storeReadMbPerS(rig);
        const firstMs = await firstLineMs(rig);
        const rttMs = await apiRoundTripMs(rig);
        rig.proxy.throttle(LINK_BYTES_PER_S);
        const slow = await pull(rig);
        rig.proxy.throttle(undefined);
        const frame = await oneFrameRatio(rig);
        const minS = slow.wire / LINK_BYTES_PER_S;
        const efficiency = minS / (slow.ms / 1000);
        const ratio = slow.raw / slow.wire;
        const mbs = fast.raw / 1e6 / (fast.ms / 1000);
        const data = `${(slow.raw / 1e6).toFixed(1)} MB raw, ${slow.lines} lines of ${real ? 'Loghub 2k (10 sets)' : 'synthetic'} log`;
        return [
          {
            name: 'pull.link_efficiency',
            value: efficiency,
            unit: 'ratio',
            baseline: 1,
            ratio: efficiency,
            note: `${data} through the fault proxy at 1 Mbit/s: ${(slow.wire / 1e6).toFixed(2)} MB on the wire, link minimum ${minS.toFixed(1)} s, actual ${(slow.ms / 1000).toFixed(1)} s`,
          },
          {
            name: 'pull.compression_ratio',
            value: ratio,
            unit: 'x',
            baseline: frame,
            ratio: ratio / frame,
            note: `raw line bytes / bytes on the wire (MQTT framing and control messages included); baseline: the same text as one zstd-6 frame`,
          },
          {
            name: 'pull.throughput_mb_per_s',
            value: mbs,
            unit: 'MB/s',
            baseline: storeMbs,
            ratio: mbs / storeMbs,
            note: `unthrottled, raw MB/s request to done (${(fast.ms / 1000).toFixed(1)} s); baseline: reading and formatting the same lines from the node's store alone`,
          },
          {
            name: 'pull.first_line_ms',
            value: firstMs,
            unit: 'ms',
            baseline: rttMs,
            ratio: firstMs / rttMs,
            note: 'CLI logs pull --follow (a sixth of the range), unthrottled, to its first line on stdout; baseline: median GET of a pull status (one API round trip)',
          },
        ];
      } finally {
        await rig.close();
      }
    },
  },
];
