/**
 * Sizing and shedding against a REAL small limit (issue 15): the real collector bin inside a
 * cgroup of 64 MiB and 0.2 CPU (half the deployment's memory), started with the V8 heap flags it
 * asks for under that limit (runtime/memory-sizing.ts), reads a 6 MiB json-file backlog while
 * another container writes live lines, through a real Mosquitto to the test acker. The collector
 * reads that limit itself (no `memory.limitBytes`), sizes what it holds to it, and is not
 * OOM-killed (memory.oom_control / memory.events). What it shed is what its counters say: every
 * line read is in the full-log store or counted as a store drop; metric summaries and every WARN+
 * line still reach the acker, each once. 6 MiB, not 20: the peak comes in the first seconds, and
 * when it crosses the first shed step (2 of 4 runs over 20 MiB did) reading stays slowed for the
 * rest of the backlog, minutes for 20 MiB. Skipped outside CI only where cgroups cannot be made.
 * The 128 MiB run into ClickHouse is backlog-budget.test.ts; 200 MiB is `npm run bench -- collector.backlog`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogLevel } from '@edge-telemetry/protocol';
import { v8HeapFlags } from '@edge-telemetry/collector';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cgroupVersion, type Cgroup } from '../support/cgroup.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import type { Backlog } from '../support/json-file-backlog.js';
import { startAcker, type Acker } from '../uplink/acker.js';
import { readBacklogInCgroup, seqOf, storedSeqs, tearDown, type CollectorRun } from './rig.js';

const MiB = 1024 * 1024;
const WINDOW_MS = 5000;
const NODE = 'small-gw';
const LIMITS = { memoryBytes: 64 * MiB, cpus: 0.2 };
const SHED_METRICS = ['memory.shed.pause_reading', 'memory.shed.store_lines', 'memory.shed.info_and_samples'];
const canRun = cgroupVersion() !== undefined;
if (process.env.CI && !canRun) throw new Error('CI must run the small-cgroup test: no writable cgroup v1 or v2 here');

/** RssAnon of a process in bytes (0 once it is gone). */
function anonBytes(pid: number | undefined): number {
  try {
    return Number(/^RssAnon:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

describe.runIf(canRun && haveMosquitto())('collector in a 64 MiB / 0.2 CPU cgroup: backlog plus live lines', () => {
  let dir: string;
  let broker: Mosquitto;
  let acker: Acker;
  let cgroup: Cgroup;
  let run: CollectorRun;
  let backlog: Backlog;
  let live: Backlog[] = [];
  let oomKills = -1;
  const metrics: Record<string, number> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-small-'));
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
    // The collector's anonymous memory (what the OOM killer weighs), sampled while it works.
    let pid: number | undefined;
    let peakAnon = 0;
    const sampler = setInterval(() => (peakAnon = Math.max(peakAnon, anonBytes(pid))), 200);
    try {
      ({ backlog, live } = await readBacklogInCgroup({
        dir,
        node: NODE,
        brokerUrl: broker.url,
        cgroupName: `col-small-${process.pid}`,
        limits: LIMITS,
        bytes: 6 * MiB,
        windowMs: WINDOW_MS,
        timeoutMs: 200_000,
        // What the collector asks for under this limit (without them it was OOM-killed: memory-sizing.ts).
        nodeArgs: v8HeapFlags(LIMITS.memoryBytes),
        onStarted: (c, r) => {
          cgroup = c;
          run = r;
          pid = r.child.pid;
        },
      }));
    } finally {
      clearInterval(sampler);
    }
    const expected = backlog.warnSeqs.length + live.reduce((n, b) => n + b.warnSeqs.length, 0);
    let have = 0;
    await waitFor(
      () => `${expected} WARN+ lines at the acker (${have} there); output:\n${run.output().slice(-3000)}`,
      () => (have = warnSeqsShipped().length) >= expected,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const name of SHED_METRICS) metrics[name] = (await run.metric(name)) ?? -1;
    oomKills = await cgroup.oomKills();
    const peak = await cgroup.peakBytes();
    // The figures the closing note quotes (the cgroup's peak charge holds the page cache it wrote too).
    console.log(
      `small-cgroup: peak RssAnon (sampled) ${(peakAnon / MiB).toFixed(1)} MiB, cgroup peak ` +
        `${peak === undefined ? '?' : (peak / MiB).toFixed(1)} MiB, OOM kills ${oomKills}`,
      metrics,
    );
    expect(await run.stop('SIGTERM')).toBe(0);
  }, 400_000);

  afterAll(() => tearDown({ run, cgroup, acker, broker, dir }));

  const shipped = () => acker.stored.filter((b) => b.node === NODE);
  const warnSeqsShipped = () =>
    shipped().flatMap((b) => b.logs.filter((l) => l.level >= LogLevel.warn).map((l) => seqOf(l.message)));
  const dropped = (stage: string, reason: string, container?: string) =>
    shipped()
      .flatMap((b) => b.drops)
      .filter((d) => d.stage === stage && d.reason === reason && (container === undefined || d.container === container))
      .reduce((n, d) => n + d.count, 0);

  it('reads its 64 MiB limit, sizes to it, and is not OOM-killed', () => {
    const line = run.output().match(/^.*"msg":"memory sizing".*$/m)?.[0] ?? '{}';
    expect(JSON.parse(line)).toMatchObject({ limitBytes: LIMITS.memoryBytes, factor: 0.2, kept: [] });
    expect(run.output()).not.toMatch(/V8 heap not bounded/);
    expect(oomKills).toBe(0);
    expect(run.output()).not.toMatch(/"level":"error"/);
  });

  it('ships every WARN+ line once, and metric summaries', () => {
    const seen = new Map<number | undefined, number>();
    for (const s of warnSeqsShipped()) seen.set(s, (seen.get(s) ?? 0) + 1);
    const expected = [...backlog.warnSeqs, ...live.flatMap((b) => b.warnSeqs)];
    expect(seen.size).toBe(expected.length);
    for (const s of expected) expect(seen.get(s), `seq ${s}`).toBe(1);
    expect(shipped().filter((b) => b.metrics.length > 0).length).toBeGreaterThan(3);
  });

  it('counts what it shed: each line read is in the full-log store or a store drop', async () => {
    const stored = await storedSeqs(path.join(dir, 'data'));
    for (const [container, events] of [
      ['app', backlog.events],
      ['live', live.reduce((n, b) => n + b.events, 0)],
    ] as const) {
      const seqs = stored.get(container) ?? [];
      expect(new Set(seqs).size, container).toBe(seqs.length);
      expect(seqs.length + dropped('store', 'memory_pressure', container), container).toBe(events);
    }
    // A step counted on /metrics is one whose drops reached the centre, and the other way round.
    expect((metrics['memory.shed.store_lines'] ?? 0) > 0).toBe(dropped('store', 'memory_pressure') > 0);
    expect((metrics['memory.shed.info_and_samples'] ?? 0) > 0).toBe(dropped('memory.shed', 'info_samples') > 0);
  });
});
