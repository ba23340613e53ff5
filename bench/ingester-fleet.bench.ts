/**
 * The deployed shape on one machine (issue 21): ingester bins on one MQTT shared subscription of
 * Mosquitto, writing to ClickHouse over its HTTP interface (the test server: the embedded engine in
 * a process of its own), under `edge-telemetry simulate` with 1,000 gateways (ET_BENCH_FLEET_NODES) of its default profile
 * (10 s scrapes, 60 s windows, Loghub lines, light profile), their data on tmpfs. Everything shares
 * the machine's cores with the simulator, which costs the most.
 *
 * ingester.gateways_per_core: one ingester process; its CPU over two steady windows, so gateways
 * per core of ingester CPU (the ack p99 says whether it kept up: it must stay under 2 s). The
 * same run measures the engine's and the broker's CPU: gateways per core for each, the baseline
 * being the engine's (where the next limit is: the lowest of the three), and the engine's insert
 * statements per second.
 *
 * ingester.latency_p99_ms_3_processes: three ingester processes under 1,000 thin gateways
 * (ET_BENCH_FLEET_CONTAINERS, default 2 containers a node, about 2.4 log lines a second: one window
 * summary a minute on a thin uplink, what a real gateway sends, while the default profile's 23k
 * log lines a second starve the simulator on two cores and the latency measured is its own). One
 * ingester is killed with SIGKILL one window after 99 % of the nodes had their first ack and stays
 * dead, another is restarted (SIGTERM, start) 1.5 windows later.
 *
 * What is measured is the publish-to-queryable time, by each node itself (the simulator's
 * --deliveries log): from the node's first MQTT publish of the batch (a resent batch keeps its
 * first) to the arrival of its end-to-end ack at the node. The ingester publishes that ack only
 * after the batch's rows and ledger row are inserted (synchronous inserts, no async_insert), so the
 * batch was queryable before it: the figure can only overstate. Not in it: the node's own sealing
 * work (encode, zstd against keyframes, outbox fdatasync), which a real gateway does on its own CPU
 * and 1,000 simulated ones do on two shared cores; that is in the second figure, seal-to-ack (ack
 * seen by a watcher subscription minus the batch's sealing time, the figure's earlier definition),
 * so nothing is hidden. p99 over the batches whose ack reached their node after the kill, against
 * the same over those before it (baseline). Beside them, so that a reader can tell what was
 * measured: the simulator's own event-loop delay (past a second it was short of CPU: its
 * timestamps are late, its load less than asked), where a batch's time went (published to received
 * by an ingester: the node's socket and the broker; received to the ack at the watcher: the
 * ingester's lanes, reads, writer queue and statements; the ack's way to the node), the engine's
 * busy share and statement times (the test server's accounting), and how long the ingesters took
 * to store what they held after the simulator stopped. Every batch stored exactly once is checked.
 *
 * The same run splits that figure's batches, each set named in its note: those first published
 * before the simulator's stop signal (the load itself: ingester.latency_3_processes_load_p99_ms),
 * and those published after it, when every node seals its open window at once (the stop's burst,
 * from its first publish to its last ack: ingester.latency_3_processes_stop_burst_ms); and, over
 * the load's batches, window-end-to-queryable (the node's wait for late lines and its seal offset
 * come before the publish and are in neither publish-to-queryable figure). The headline figure's
 * definition is unchanged.
 *
 * ingester.gateways_per_core counts a gateway as carried when the same publish-to-queryable p99 is
 * under 2 s (ingester.fleet_ack_p99_ms_1_process).
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bins, runNode, type RunningProcess } from '../test/support/processes.js';
import { quantile, startIngesterFleet, type FleetAck, type IngesterFleet } from '../test/support/ingester-fleet.js';
import type { ServerStats } from '../test/support/clickhouse-http/server.js';
import { waitFor } from '../test/support/wait.js';
import { DownsampleOptionsSchema } from '@edge-telemetry/protocol';
import type { BenchCase, Figure } from './harness.js';
import { cpuSeconds } from './support/proc.js';

/**
 * Gateways simulated: 1,000 unless ET_BENCH_FLEET_NODES says otherwise (on two cores shared with
 * other work at load 20, a 1,000-node simulator stalled starting its nodes at about 330).
 */
const NODES = Number(process.env.ET_BENCH_FLEET_NODES ?? 1000);
/** Containers on every gateway of the three-process run (the thin profile); the sizing run keeps the default profile. */
const THIN_CONTAINERS = Number(process.env.ET_BENCH_FLEET_CONTAINERS ?? 2);
const WINDOW_MS = 60_000;
/** The collector's uplink.sender.minAckTimeoutMs default: a batch acknowledged this late or later was most likely published again. */
const MIN_ACK_TIMEOUT_MS = 5000;
/**
 * How long after a window's end the simulated collectors seal it: the collector's default
 * downsample.sealJitterMs (a node's offset, at most a quarter of the window), read from its schema
 * so that the note says what ran.
 */
const SEAL_SPREAD_S = Math.min(DownsampleOptionsSchema.properties.sealJitterMs.default, WINDOW_MS / 4) / 1000;

/** The simulator's data folder: on tmpfs where there is one (a thousand outboxes fdatasync'ing on one disk measure the disk). */
const simDir = (fleet: IngesterFleet) =>
  existsSync('/dev/shm') ? path.join('/dev/shm', path.basename(fleet.dir)) : path.join(fleet.dir, 'sim');

/** The simulator's delivery log: a line per batch acknowledged, as its node saw it. */
const deliveriesFile = (fleet: IngesterFleet) => path.join(fleet.dir, 'deliveries.tsv');

/** `containers`: on every node; undefined: the default profile's 8-30 by node id. */
function simulate(fleet: IngesterFleet, prefix: string, containers?: number): RunningProcess {
  const data = simDir(fleet);
  return runNode(bins.cli, [
    'simulate',
    ...['--nodes', String(NODES), '--broker', fleet.broker.url, '--prefix', prefix],
    ...['--data-dir', data, '--progress', '30', '--deliveries', deliveriesFile(fleet)],
    ...(containers === undefined ? [] : ['--containers', String(containers)]),
  ]);
}

/**
 * The simulator's worst event-loop delay (p99 of a progress period, ms) in its output from `from`
 * on: past a second it was short of CPU and offered less than the profile's load.
 */
function simLoopDelays(sim: RunningProcess, from: number, to?: number): number[] {
  return [
    ...sim
      .output()
      .slice(from, to)
      .matchAll(/loop delay p99 (\d+) ms/g),
  ].map((m) => Number(m[1]));
}

function simLoopDelay(sim: RunningProcess, from: number): string {
  const p99s = simLoopDelays(sim, from);
  return p99s.length > 0 ? `simulator loop delay p99 up to ${Math.max(...p99s)} ms` : 'no simulator progress line';
}

/** Waits for the simulator's start and then one window, so every node sealed one: steady state. */
async function steady(sim: RunningProcess): Promise<void> {
  // Nodes start 16 at a time per worker thread: minutes on two busy cores.
  await sim.waitFor(/simulating \d+ gateways/, 900_000);
  await new Promise((r) => setTimeout(r, WINDOW_MS));
}

/** Stops the simulator, then waits for the ingesters to store what they hold: how long that took (ms). */
async function stop(sim: RunningProcess, fleet: IngesterFleet): Promise<number> {
  await sim.stop('SIGINT');
  return fleet.settled();
}

/** What the engine did between two readings of its accounting, over `ms` of wall time. */
function engineOver(a: ServerStats, b: ServerStats, ms: number) {
  const statements = b.statements - a.statements;
  const inserts = b.inserts - a.inserts;
  return {
    busyShare: (b.busyMs - a.busyMs) / ms,
    statementsPerS: (statements / ms) * 1000,
    meanStatementMs: statements > 0 ? (b.engineMs - a.engineMs) / statements : NaN,
    meanInsertMs: inserts > 0 ? (b.insertMs - a.insertMs) / inserts : NaN,
    maxRunning: b.maxRunning,
  };
}

/** A stored batch, its ack as the watcher and as its node saw it, and its node's first publish. */
interface Delivered extends FleetAck {
  publishedAt: number;
  nodeAckedAt: number;
  /** The figure: first publish to the ack's arrival at the node. */
  publishToAckMs: number;
  /** First publish to an ingester's receipt (the node's socket, the broker). */
  publishToReceivedMs: number;
  /** The ack's way from the watcher's sighting to the node (broker, the simulator's loop). */
  ackToNodeMs: number;
  /** When the broker passed the batch's first publish on to the watcher (undefined: not seen, QoS 0). */
  upAt: number | undefined;
}

/**
 * The stored, acknowledged batches of `pattern` that the simulator's delivery log has (read after
 * the simulator stopped: it writes its last lines then), and how many acknowledged ones it lacks.
 */
async function delivered(fleet: IngesterFleet, pattern: string): Promise<{ rows: Delivered[]; missing: number }> {
  const byKey = new Map<string, [number, number]>();
  for (const line of (await readFile(deliveriesFile(fleet), 'utf8')).split('\n')) {
    const [node, epoch, seq, publishedAt, ackedAt] = line.split('\t');
    if (ackedAt !== undefined) byKey.set(`${node}/${epoch}/${seq}`, [Number(publishedAt), Number(ackedAt)]);
  }
  const rows: Delivered[] = [];
  let missing = 0;
  for (const a of await fleet.acks(pattern)) {
    const d = byKey.get(a.key);
    if (d === undefined) {
      missing++;
      continue;
    }
    const [publishedAt, nodeAckedAt] = d;
    const receivedAt = a.ackedAt - a.receivedToAckMs;
    rows.push({
      ...a,
      publishedAt,
      nodeAckedAt,
      publishToAckMs: nodeAckedAt - publishedAt,
      publishToReceivedMs: receivedAt - publishedAt,
      ackToNodeMs: nodeAckedAt - a.ackedAt,
      upAt: fleet.upAt.get(a.key),
    });
  }
  return { rows, missing };
}

const p = <T>(xs: T[], f: (a: T) => number, q: number) => quantile(xs.map(f), q);
/** p99 (p50) of `f` over `xs`, for notes. */
const p99p50 = <T>(xs: T[], f: (a: T) => number) => `p99 ${p(xs, f, 0.99)} ms (p50 ${p(xs, f, 0.5)})`;

/** CPU seconds of each process over the call of `during`. */
async function cpuOver(pids: Record<string, number>, during: () => Promise<void>): Promise<Record<string, number>> {
  const before = Object.fromEntries(
    await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await cpuSeconds(p)])),
  );
  await during();
  return Object.fromEntries(
    await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, (await cpuSeconds(p)) - (before[k] as number)])),
  );
}

/** Calls `read` now and every `ms` after, one call at a time; the function returned stops it and waits for the last call. */
function sampleEvery(ms: number, read: () => Promise<void>): () => Promise<void> {
  let reading = read();
  const timer = setInterval(() => (reading = reading.then(read)), ms).unref();
  return async () => {
    clearInterval(timer);
    await reading;
  };
}

/** How often cpuTimeline reads the processes' CPU time. */
const CPU_SAMPLE_MS = 250;

/**
 * Reads the CPU seconds of each process every CPU_SAMPLE_MS from now until stopped: what each used
 * over a span that ends after one of them exited (its /proc entry went with it; it keeps its last
 * reading, taken less than CPU_SAMPLE_MS before it exited).
 */
function cpuTimeline(pids: Record<string, number>) {
  const samples: { at: number; cpu: Record<string, number> }[] = [];
  const read = async () => {
    const cpu: Record<string, number> = {};
    for (const [k, pid] of Object.entries(pids))
      await cpuSeconds(pid).then(
        (c) => (cpu[k] = c),
        () => undefined,
      );
    samples.push({ at: Date.now(), cpu });
  };
  return {
    stop: sampleEvery(CPU_SAMPLE_MS, read),
    /** % of a core each process used from the first reading to the last one taken by `until` (ms). */
    shares(until: number): string {
      const first = samples[0];
      const last = samples.filter((x) => x.at <= until).at(-1);
      if (!first || !last || last === first) return 'no CPU readings in that span';
      const span = (last.at - first.at) / 1000;
      const each = Object.keys(pids).map((k) => {
        const at = [...samples].reverse().find((x) => x.at <= until && x.cpu[k] !== undefined)?.cpu[k];
        const from = first.cpu[k];
        return `${k} ${from === undefined || at === undefined ? '?' : (((at - from) / span) * 100).toFixed(0)}%`;
      });
      return `${each.join(', ')} of a core over the first ${span.toFixed(1)} s`;
    },
  };
}

/** How often loopTimeline reads the ingesters' /metrics. */
const LOOP_SAMPLE_MS = 2000;

/**
 * Reads each running ingester's event-loop figures (/metrics, loop-delay.ts) every
 * LOOP_SAMPLE_MS until stopped: whether a batch's wait between the broker and the router (its
 * receipt) was the ingester's loop held by other work. The delay figures cover the last complete
 * period of the ingester's own (10 s), so the worst of them over a span is the worst period in it.
 */
function loopTimeline(fleet: IngesterFleet) {
  const worst = new Map<string, { p99: number; max: number; busy0: number; busy: number; t0: number; t: number }>();
  const read = async () => {
    for (const ing of fleet.ingesters) {
      if (!ing.proc || ing.proc.child.exitCode !== null || ing.proc.child.signalCode !== null) continue;
      const text = await fetch(`${ing.api}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      const p99 = num(/^et_ingester_event_loop_delay_seconds\{quantile="0\.99"\} (\S+)/m) * 1000;
      const max = num(/^et_ingester_event_loop_delay_seconds\{quantile="1"\} (\S+)/m) * 1000;
      const busy = num(/^et_ingester_event_loop_busy_seconds_total (\S+)/m);
      if (Number.isNaN(busy)) continue;
      // Keyed by process: a restarted ingester's counters start again.
      const k = `${ing.clientId} (pid ${ing.proc.child.pid})`;
      const w = worst.get(k) ?? { p99: 0, max: 0, busy0: busy, busy, t0: Date.now(), t: Date.now() };
      worst.set(k, { ...w, p99: Math.max(w.p99, p99), max: Math.max(w.max, max), busy, t: Date.now() });
    }
  };
  return {
    stop: sampleEvery(LOOP_SAMPLE_MS, read),
    /** The worst 10 s period's delay p99 over every ingester, ms. */
    worstP99: () => Math.max(0, ...[...worst.values()].map((w) => w.p99)),
    /** Each ingester process: its worst period's delay p99 and max, and its loop's busy share over the span. */
    note: () =>
      [...worst.entries()]
        .map(
          ([k, w]) =>
            `${k}: p99 up to ${w.p99.toFixed(0)} ms, max ${w.max.toFixed(0)} ms, busy ${(((w.busy - w.busy0) / Math.max(1, (w.t - w.t0) / 1000)) * 100).toFixed(0)}%`,
        )
        .join('; ') || 'no readings',
  };
}

/** Fails the bench when a batch was stored twice or lost from the ledger's accounting. */
async function expectExactlyOnce(fleet: IngesterFleet, pattern: string): Promise<string> {
  const r = await fleet.exactlyOnce(pattern);
  const wrong = Object.entries(r.rows).filter(([, n]) => n.stored !== n.inBatches);
  if (r.ledgerRows !== r.batches || wrong.length > 0) throw new Error(`not exactly once: ${JSON.stringify(r)}`);
  return `${r.batches} batches, each stored once`;
}

/** A series of /metrics (its name and labels as exposed) summed over the running ingesters (each since its own start). */
async function counter(fleet: IngesterFleet, series: string): Promise<number> {
  const line = new RegExp(`^${series.replace(/[{}]/g, (c) => `\\${c}`)} (\\d+)`, 'm');
  let n = 0;
  for (const ing of fleet.ingesters) {
    if (!ing.proc || ing.proc.child.exitCode !== null || ing.proc.child.signalCode !== null) continue;
    n += Number(line.exec(await (await fetch(`${ing.api}/metrics`)).text())?.[1] ?? 0);
  }
  return n;
}

/** Inserts ClickHouse made so far, from every running ingester's counter (each flush is one per table, plus claims). */
const flushes = (fleet: IngesterFleet) => counter(fleet, 'et_ingester_inserts_total');

const load = () => os.loadavg()[0]?.toFixed(1);

export const benches: BenchCase[] = [
  {
    name: 'ingester.gateways_per_core',
    async run(): Promise<Figure[]> {
      const fleet = await startIngesterFleet({ ingesters: 1 });
      try {
        const sim = simulate(fleet, 'gpc');
        await steady(sim);
        const ingester = fleet.ingesters[0]?.proc?.child.pid as number;
        const pids = {
          ingester,
          engine: fleet.server.pid,
          broker: fleet.broker.pid as number,
          simulator: sim.child.pid as number,
        };
        const t0 = Date.now();
        const out0 = sim.output().length;
        const f0 = await flushes(fleet);
        const cpu = await cpuOver(pids, () => new Promise((r) => setTimeout(r, 2 * WINDOW_MS)));
        const s = (Date.now() - t0) / 1000;
        const flushesPerS = ((await flushes(fleet)) - f0) / s;
        const simDelay = simLoopDelay(sim, out0);
        const drainMs = await stop(sim, fleet);
        const once = await expectExactlyOnce(fleet, 'gpc-%');
        // Acknowledged (at the node) within the steady period; the log is complete once the simulator stopped.
        const all = await delivered(fleet, 'gpc-%');
        const acked = all.rows.filter((a) => a.nodeAckedAt >= t0 && a.nodeAckedAt < t0 + s * 1000);
        const lat = acked.map((a) => a.publishToAckMs);
        const cores = (k: keyof typeof pids) => (cpu[k] as number) / s;
        const perCore = (k: keyof typeof pids) => NODES / Math.max(1e-6, cores(k));
        const p99 = quantile(lat, 0.99);
        const note = `${NODES} gateways, 60 s windows, one ingester process over HTTP, over ${s.toFixed(0)} s of steady state (${(acked.length / s).toFixed(1)} batches/s acknowledged); CPU: ingester ${(cores('ingester') * 100).toFixed(0)}%, engine ${(cores('engine') * 100).toFixed(0)}%, broker ${(cores('broker') * 100).toFixed(0)}%, simulator ${(cores('simulator') * 100).toFixed(0)}% of a core; publish-to-queryable p99 ${p99} ms (${p99 < 2000 ? 'within' : 'NOT within'} the 2 s that makes a gateway carried; seal-to-ack ${p99p50(acked, (a) => a.latencyMs)}); ${simDelay}; ${once}; load average ${load()} on 2 cores (other work included, if any ran); the ingester stored what it held ${(drainMs / 1000).toFixed(0)} s after the simulator stopped`;
        return [
          {
            name: 'ingester.gateways_per_core',
            value: perCore('ingester'),
            unit: 'gateways/core',
            baseline: perCore('engine'),
            ratio: perCore('ingester') / perCore('engine'),
            note: `gateways per core of ingester CPU; baseline: per core of engine CPU (ClickHouse behind HTTP); ${note}`,
          },
          {
            name: 'ingester.fleet_broker_gateways_per_core',
            value: perCore('broker'),
            unit: 'gateways/core',
            baseline: perCore('ingester'),
            ratio: perCore('broker') / perCore('ingester'),
            note: 'gateways per core of Mosquitto CPU, same run; baseline ingester.gateways_per_core',
          },
          {
            name: 'ingester.fleet_ack_p99_ms_1_process',
            value: p99,
            unit: 'ms',
            baseline: quantile(lat, 0.5),
            ratio: p99 / Math.max(1, quantile(lat, 0.5)),
            note: "publish-to-queryable (the node's first publish of a batch to its ack's arrival at the node, sent once the batch is stored) of every batch acknowledged in the steady period; baseline p50; target < 2,000 ms",
          },
          {
            name: 'ingester.fleet_inserts_per_s_1_process',
            value: flushesPerS,
            unit: 'flushes/s',
            note: 'coalesced flushes of the one ingester (each: a claims insert and a read, up to 8 table inserts side by side, the ledger), same run',
          },
        ];
      } finally {
        await fleet.close();
        await rm(simDir(fleet), { recursive: true, force: true });
      }
    },
  },
  {
    name: 'ingester.latency_p99_ms_3_processes',
    async run(): Promise<Figure[]> {
      const fleet = await startIngesterFleet({ ingesters: 3 });
      // Started after the kill; stopped in the finally too, should the run throw before its own stop.
      let loops: ReturnType<typeof loopTimeline> | undefined;
      try {
        const sim = simulate(fleet, 'l3p', THIN_CONTAINERS);
        await sim.waitFor(/simulating \d+ gateways/, 900_000);
        const out0 = sim.output().length;
        // The kill comes one window after 99 % of the nodes had a window acknowledged, so the
        // baseline holds batches (killed one window after the start, a loaded run had none); not
        // every node: on a starved machine a few went ten minutes between keepalive cuts.
        const ackedNodes = () => new Set([...fleet.ackedAt.keys()].map((k) => k.split('/')[0])).size;
        await waitFor(
          () => `99 % of the nodes acknowledged once (${ackedNodes()} of ${NODES})`,
          () => ackedNodes() >= Math.ceil(NODES * 0.99),
          {
            timeoutMs: 900_000,
            intervalMs: 1000,
          },
        );
        // The steady window before the kill, all three ingesters alive: where the CPU goes.
        const pids: Record<string, number> = {
          simulator: sim.child.pid as number,
          engine: fleet.server.pid,
          broker: fleet.broker.pid as number,
        };
        fleet.ingesters.forEach((ing, i) => (pids[`ingester ${i + 1}`] = ing.proc?.child.pid as number));
        const t0 = Date.now();
        const cpu = await cpuOver(pids, () => new Promise((r) => setTimeout(r, WINDOW_MS)));
        const cpuNote = Object.entries(cpu)
          .map(([k, c]) => `${k} ${((c / (Date.now() - t0)) * 100_000).toFixed(0)}%`)
          .join(', ');
        const killedAt = Date.now();
        const outKill = sim.output().length;
        const engine0 = await fleet.engineStats();
        await fleet.kill(0);
        loops = loopTimeline(fleet);
        await new Promise((r) => setTimeout(r, WINDOW_MS * 1.5));
        await fleet.restart(1);
        await new Promise((r) => setTimeout(r, WINDOW_MS * 1.5));
        const engine = engineOver(engine0, await fleet.engineStats(), Date.now() - killedAt);
        // A batch compressed against a keyframe another ingester took needs that body read from
        // ClickHouse before it can be decoded; the misses of batches waiting together share a read.
        const refHits = await counter(fleet, 'et_ingester_reference_cache_hits_total');
        const refMisses = await counter(fleet, 'et_ingester_reference_cache_misses_total');
        const refReads = await counter(fleet, 'et_ingester_reference_reads_total');
        const refFollowed = await counter(fleet, 'et_ingester_reference_followed_total');
        const textsCached = await counter(fleet, 'et_ingester_template_texts_omitted_total{found="cache"}');
        const textsStored = await counter(fleet, 'et_ingester_template_texts_omitted_total{found="clickhouse"}');
        const textReads = await counter(fleet, 'et_ingester_template_text_reads_total');
        const loopBefore = Math.max(...simLoopDelays(sim, out0, outKill), 0);
        const loopAfter = simLoopDelays(sim, outKill);
        // Where the machine's two cores went during the stop's burst (the simulator seals every open
        // window then), read every CPU_SAMPLE_MS: the simulator exits before the burst is measured.
        const live: Record<string, number> = { ...pids };
        fleet.ingesters.forEach((ing, i) => {
          const pid = ing.proc?.child.pid;
          if (ing.proc?.child.exitCode === null && ing.proc.child.signalCode === null && pid)
            live[`ingester ${i + 1}`] = pid;
          else delete live[`ingester ${i + 1}`];
        });
        const cpuAtStop = cpuTimeline(live);
        const stoppedAt = Date.now();
        try {
          await sim.stop('SIGINT');
        } finally {
          await cpuAtStop.stop();
        }
        // The last progress line's count (or the summary's): a stop that outlived its grace leaves no summary.
        const resends = [...sim.output().matchAll(/resends (\d+)/g)].at(-1)?.[1] ?? '?';
        // The delivery log is complete once the simulator stopped. Read before the drain, so that a
        // drain that stalls still says what was measured.
        const all = await delivered(fleet, 'l3p-%');
        // By when the ack reached the node: before the kill (baseline) and after it.
        const before: Delivered[] = [];
        const after: Delivered[] = [];
        for (const a of all.rows) (a.nodeAckedAt < killedAt ? before : after).push(a);
        const lat = (a: Delivered) => a.publishToAckMs;
        const seal = (a: Delivered) => a.latencyMs;
        const p99 = p(after, lat, 0.99);
        const loopMax = Math.max(...loopAfter, 0);
        // Split at the broker where the watcher saw the publish (QoS 0: a batch it missed is left out here).
        const seen = after.flatMap((a) => (a.upAt === undefined ? [] : [{ ...a, upAt: a.upAt }]));
        const atBroker = `of which, for the ${seen.length} the watcher saw, published to passed on by the broker ${p99p50(seen, (a) => a.upAt - a.publishedAt)} and passed on to received by an ingester ${p99p50(seen, (a) => a.publishToReceivedMs - (a.upAt - a.publishedAt))}`;
        const where = `published to received by an ingester ${p99p50(after, (a) => a.publishToReceivedMs)} (${atBroker}), received to the ack at the broker (the watcher's sighting) ${p99p50(after, (a) => a.receivedToAckMs)}, the ack's way on to the node ${p99p50(after, (a) => a.ackToNodeMs)}; sealed to published ${p99p50(after, (a) => a.publishedAt - (a.ackedAt - a.latencyMs))}; published to the ack's sighting at the broker (the node's loop left out) ${p99p50(after, (a) => a.ackedAt - a.publishedAt)}`;
        // The same split over the load's batches alone (the stop's burst, a queue of a window per
        // node at once, would otherwise set every p99 above).
        const beforeStop = after.filter((a) => a.publishedAt < stoppedAt);
        const whereLoad = `published to received ${p99p50(beforeStop, (a) => a.publishToReceivedMs)}, received to the ack at the broker ${p99p50(beforeStop, (a) => a.receivedToAckMs)}, the ack's way on to the node ${p99p50(beforeStop, (a) => a.ackToNodeMs)}`;
        // At its stop every simulated node seals its open window at once (a burst no spread applies
        // to): said apart, so that a reader can tell it from the windows' own ends.
        const stopNote = `of which ${after.length - beforeStop.length} published at the simulator's stop (each node seals its open window then, all at once), p99 of the others ${p(beforeStop, lat, 0.99)} ms`;
        // The stop's burst alone: from its first publish to the last of its acks at a node.
        const burst = after.filter((a) => a.publishedAt >= stoppedAt);
        const burstFrom = Math.min(...burst.map((a) => a.publishedAt));
        const burstMs = burst.length === 0 ? 0 : Math.max(...burst.map((a) => a.nodeAckedAt)) - burstFrom;
        const burstPublishMs = burst.length === 0 ? 0 : Math.max(...burst.map((a) => a.publishedAt)) - burstFrom;
        // Where the data waited before the publish (review, session 10): the window's end to its
        // ack at the node, over the load's batches (a stop's window is cut short, its end not passed).
        const fromWindowEnd = (a: Delivered) => a.nodeAckedAt - a.windowEnd;
        const measured = `publish-to-queryable p99 after the kill ${p99} ms over ${after.length} batches (${stopNote}; before the kill ${p(before, lat, 0.99)} ms over ${before.length}); seal-to-ack p99 ${p(after, seal, 0.99)} ms; ${where}; the load's batches alone: ${whereLoad}; simulator loop delay p99 up to ${loopMax} ms; ingester loops: ${loops.note()}`;
        process.stdout.write(`\n  measured: ${measured}\n`);
        const drainMs = await fleet.settled();
        await loops.stop();
        const once = await expectExactlyOnce(fleet, 'l3p-%');
        const profile = `${NODES} gateways of ${THIN_CONTAINERS} containers each (the thin profile: about ${(THIN_CONTAINERS * 1.2).toFixed(1)} log lines/s and one 60 s window summary a minute per node; 10 s scrapes)`;
        const eng = `engine busy ${(engine.busyShare * 100).toFixed(0)}% of the time, ${engine.statementsPerS.toFixed(1)} statements/s, mean statement ${engine.meanStatementMs.toFixed(0)} ms (inserts ${engine.meanInsertMs.toFixed(0)} ms), at most ${engine.maxRunning} at once; keyframe references read from ClickHouse (not in the receiving ingester's cache): ${refMisses} of ${refHits + refMisses} in ${refReads} reads, ${refFollowed} read ahead; omitted template texts found in ClickHouse ${textsStored} of ${textsCached + textsStored} in ${textReads} reads (the two live ingesters, since each started)`;
        return [
          {
            name: 'ingester.latency_p99_ms_3_processes',
            value: p99,
            unit: 'ms',
            baseline: p(before, lat, 0.99),
            ratio: p99 / Math.max(1, p(before, lat, 0.99)),
            note: `publish-to-queryable: from the node's first MQTT publish of a batch (resends keep it) to its end-to-end ack's arrival at the node, which the ingester sends only after the batch's rows and ledger row are inserted; timed by each node (the simulator's --deliveries log); the node's own sealing work is not in it (see seal_to_ack); ${profile}; three ingester processes on $share over HTTP; one SIGKILLed one window after 99 % of the nodes had their first ack (${((killedAt % WINDOW_MS) / 1000).toFixed(0)} s after a window's end; nodes seal 0-${SEAL_SPREAD_S} s after it, by downsample.sealJitterMs, plus latenessMs) and left dead, one restarted 1.5 windows later; p99 of the ${after.length} batches whose ack reached the node after the kill (${stopNote}; p50 ${p(after, lat, 0.5)} ms, ${after.filter((a) => lat(a) >= 2000).length} at 2 s or more, ${after.filter((a) => lat(a) >= MIN_ACK_TIMEOUT_MS).length} at the nodes' least ack timeout, 5 s, or more; ${all.missing} acknowledged batches not in the log); ${resends} resends by the simulator's last count; CPU in the steady window before the kill, % of a core: ${cpuNote}; baseline: p99 of the ${before.length} acknowledged before the kill; simulator loop delay p99 up to ${loopMax} ms after the kill (${loopBefore} ms before); ${once}; target < 2,000 ms; load average ${load()} on 2 cores (other work included, if any ran)`,
          },
          {
            name: 'ingester.latency_3_processes_load_p99_ms',
            value: p(beforeStop, lat, 0.99),
            unit: 'ms',
            baseline: p99,
            ratio: p(beforeStop, lat, 0.99) / Math.max(1, p99),
            note: `publish-to-queryable as ingester.latency_p99_ms_3_processes (its baseline), over its batches first published before the simulator's stop signal: the ${beforeStop.length} of the load itself (the windows' own ends, the kill, the restart; p50 ${p(beforeStop, lat, 0.5)} ms, ${beforeStop.filter((a) => lat(a) >= 2000).length} at 2 s or more; ${whereLoad}), without the ${burst.length} of the stop's burst (ingester.latency_3_processes_stop_burst_ms)`,
          },
          {
            name: 'ingester.latency_3_processes_stop_burst_ms',
            value: burstMs,
            unit: 'ms',
            baseline: burstPublishMs,
            ratio: burstMs / Math.max(1, burstPublishMs),
            note: `the batches of ingester.latency_p99_ms_3_processes first published after the simulator's stop signal (every node seals its open window at once): ${burst.length} batches, from the first one's publish to the last one's ack at its node (${((burst.length / Math.max(1, burstMs)) * 1000).toFixed(0)} batches/s through the two live ingesters); their publish-to-queryable p99 ${p(burst, lat, 0.99)} ms (p50 ${p(burst, lat, 0.5)}); CPU from the stop signal to the burst's last ack (read every ${CPU_SAMPLE_MS} ms): ${cpuAtStop.shares(burstFrom + burstMs)}; baseline: the first to the last of their publishes`,
          },
          {
            name: 'ingester.latency_3_processes_window_end_p99_ms',
            value: p(beforeStop, fromWindowEnd, 0.99),
            unit: 'ms',
            baseline: p(beforeStop, lat, 0.99),
            ratio: p(beforeStop, fromWindowEnd, 0.99) / Math.max(1, p(beforeStop, lat, 0.99)),
            note: `window-end-to-queryable: from the end of a batch's window (its WindowEnd) to its ack at the node, over the batches of ingester.latency_3_processes_load_p99_ms (its baseline; the stop's windows are cut short): the node's wait for late lines (logs.window.latenessMs) and its seal offset (downsample.sealJitterMs, 0-${SEAL_SPREAD_S} s by node, so that a fleet's windows do not leave at once) come before the publish and are in neither publish-to-queryable figure; p50 ${p(beforeStop, fromWindowEnd, 0.5)} ms`,
          },
          {
            name: 'ingester.latency_3_processes_seal_to_ack_p99_ms',
            value: p(after, seal, 0.99),
            unit: 'ms',
            baseline: p99,
            ratio: p(after, seal, 0.99) / Math.max(1, p99),
            note: `the same batches from their sealing at the node (the batch's sentAt) to the ack's sighting by a watcher subscription: the node's encode, compression and outbox work in it (p50 ${p(after, seal, 0.5)} ms); the figure's definition until session 9; baseline ingester.latency_p99_ms_3_processes`,
          },
          {
            name: 'ingester.latency_3_processes_received_to_ack_p99_ms',
            value: p(after, (a) => a.receivedToAckMs, 0.99),
            unit: 'ms',
            baseline: p(after, (a) => a.publishToReceivedMs, 0.99),
            ratio:
              p(after, (a) => a.receivedToAckMs, 0.99) /
              Math.max(
                1,
                p(after, (a) => a.publishToReceivedMs, 0.99),
              ),
            note: `where the time of the batches acknowledged after the kill went: ${where}; baseline: the published-to-received p99; ${eng} (kill to stop)`,
          },
          {
            name: 'ingester.latency_3_processes_ingester_loop_p99_ms',
            value: loops.worstP99(),
            unit: 'ms',
            baseline: p99,
            ratio: loops.worstP99() / Math.max(1, p99),
            note: `the ingesters' own event-loop delay (how late a 10 ms timer ran: et_ingester_event_loop_delay_seconds, p99 over each 10 s period, read every ${LOOP_SAMPLE_MS / 1000} s from the kill to the drain's end), the worst period of any live ingester: a message waits at the socket at least that long while its loop is held; by process: ${loops.note()}; baseline ingester.latency_p99_ms_3_processes`,
          },
          {
            name: 'ingester.latency_3_processes_sim_loop_p99_ms',
            value: loopMax,
            unit: 'ms',
            baseline: p99,
            ratio: loopMax / Math.max(1, p99),
            note: `the simulator's own event-loop delay (worst worker thread's p99 of each 30 s progress period, worst period after the kill): near or above the latency, the generator was starved and the figure is partly its own; baseline ingester.latency_p99_ms_3_processes`,
          },
          {
            name: 'ingester.latency_3_processes_drain_ms',
            value: drainMs,
            unit: 'ms',
            note: 'after the simulator stopped (its last windows sealed and 15 s of acks awaited), until the two live ingesters had stored every batch they held: a backlog shows here',
          },
        ];
      } finally {
        await loops?.stop();
        await fleet.close();
        await rm(simDir(fleet), { recursive: true, force: true });
      }
    },
  },
];
