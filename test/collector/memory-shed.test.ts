/**
 * Memory sized from the cgroup limit, and shedding under memory pressure (issue 15), with the real
 * collector bin. In a cgroup of 192 MiB it reads that limit at start and says so; told its limit is
 * 16 MiB (under half the memory Node alone uses, ~35-50 MiB) the pressure signal is over every threshold: it sheds in the
 * stated order (reading slowed, store lines dropped and counted, class 3 withheld and counted),
 * says so in its log and /metrics, and still scrapes, seals and ships metric summaries and WARN+
 * lines. In CI it must run (root, cgroups, Mosquitto); elsewhere it skips where they are missing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LogLevel } from '@edge-telemetry/protocol';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cgroupVersion, createCgroup, type Cgroup } from '../support/cgroup.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { liveWriter } from '../support/json-file-backlog.js';
import { startAcker, type Acker } from '../uplink/acker.js';
import { runCollector, type CollectorRun } from './rig.js';

const MiB = 1024 * 1024;
const WINDOW_MS = 2000;
const canRun = cgroupVersion() !== undefined;
if (process.env.CI && !canRun) throw new Error('CI must run the memory test: no writable cgroup v1 or v2 here');

describe.runIf(canRun && haveMosquitto())('collector memory: sized from its cgroup, shedding under pressure', () => {
  let dir: string | undefined;
  let broker: Mosquitto | undefined;
  let acker: Acker | undefined;
  let cgroup: Cgroup | undefined;
  const runs: CollectorRun[] = [];

  afterAll(async () => {
    for (const r of runs) await r.stop('SIGKILL');
    await cgroup?.remove();
    await acker?.close();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads its cgroup memory limit at start and logs the sizes chosen', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-memory-'));
    broker = await startMosquitto();
    cgroup = await createCgroup(`col-memory-${process.pid}`, { memoryBytes: 192 * MiB, cpus: 1 });
    const run = await runCollector({
      dir,
      dataDir: path.join(dir, 'data-sized'),
      node: 'memory-sized-gw',
      dockerRoot: path.join(dir, 'none'),
      brokerUrl: broker.url,
      cgroup,
    });
    runs.push(run);
    // Started (its SIGTERM handler in place) before it is stopped.
    await waitFor(
      () => `the collector to start; output:\n${run.output()}`,
      () => run.output().includes('"msg":"collector started"'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const line = run.output().match(/^.*"msg":"memory sizing".*$/m)?.[0] ?? '{}';
    const sizing = JSON.parse(line) as Record<string, unknown>;
    // (192 - 48) / (128 - 48) = 1.8 times the 128 MiB defaults.
    expect(sizing).toMatchObject({
      limitBytes: 192 * MiB,
      factor: 1.8,
      'sources.logFiles.chunkBytes': 118784,
      'logs.templates.maxClusters': 9000,
      kept: [],
    });
    expect(String(sizing.source)).toMatch(cgroup.version === 1 ? /memory\.limit_in_bytes$/ : /memory\.max$/);
    expect(await run.stop('SIGTERM')).toBe(0);
  }, 60_000);

  it('under pressure sheds in order, counts and says it, and keeps shipping summaries and WARN+ lines', async () => {
    const d = dir as string;
    acker = await startAcker((broker as Mosquitto).url);
    const a = acker;
    const root = path.join(d, 'containers');
    const writer = liveWriter({ root, name: 'app', bytes: 4000, everyMs: 100, firstSeq: 0 });
    try {
      const run = await runCollector({
        dir: d,
        dataDir: path.join(d, 'data-shed'),
        node: 'memory-shed-gw',
        dockerRoot: root,
        brokerUrl: (broker as Mosquitto).url,
        config: { scrapeIntervalMs: 1000, downsample: { windowMs: WINDOW_MS }, memory: { limitBytes: 16 * MiB } },
      });
      runs.push(run);
      const m = async (name: string) => (await run.metric(name)) ?? 0;
      let state = '';
      await waitFor(
        () => `shedding with summaries still shipped (${state}); output:\n${run.output().slice(-3000)}`,
        async () => {
          if (run.child.exitCode !== null) throw new Error(`collector exited (${run.child.exitCode})`);
          const drops = a.stored.flatMap((b) => b.drops);
          const dropped = (stage: string, reason: string) =>
            drops.filter((x) => x.stage === stage && x.reason === reason).reduce((n, x) => n + x.count, 0);
          const shipped = a.stored.filter((b) => b.node === 'memory-shed-gw');
          state =
            `level=${await m('memory.shed_level')} pressure=${await m('memory.pressure')} ` +
            `store drops=${dropped('store', 'memory_pressure')} class 3 withheld=${dropped('memory.shed', 'info_samples')} ` +
            `batches=${shipped.length} steps=${await m('memory.shed.pause_reading')},${await m('memory.shed.store_lines')},${await m('memory.shed.info_and_samples')} ` +
            `metrics=${shipped.some((b) => b.metrics.length > 0)} warn=${shipped.some((b) => b.logs.some((l) => l.level >= LogLevel.warn))}`;
          return (
            (await m('memory.shed_level')) === 3 &&
            (await m('memory.shed.pause_reading')) >= 1 &&
            (await m('memory.shed.store_lines')) >= 1 &&
            (await m('memory.shed.info_and_samples')) >= 1 &&
            dropped('store', 'memory_pressure') > 0 &&
            dropped('memory.shed', 'info_samples') > 0 &&
            shipped.some((b) => b.metrics.length > 0 && b.windowStart > 0) &&
            shipped.some((b) => b.logs.some((l) => l.level >= LogLevel.warn))
          );
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(run.output()).toMatch(
        /"msg":"memory pressure: shedding".*"steps":\["pause_reading","store_lines","info_and_samples"\]/,
      );
      expect(await run.stop('SIGTERM')).toBe(0);
    } finally {
      await writer.stop();
    }
  }, 150_000);
});
