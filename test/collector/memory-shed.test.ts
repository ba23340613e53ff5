/**
 * Memory sized from the cgroup limit, and shedding under memory pressure (issue 15), with the real
 * collector bin. In a cgroup of 192 MiB it reads that limit at start and says so; told its limit is
 * 16 MiB (under half the memory Node alone uses, ~35-50 MiB) the pressure signal is over every threshold: it sheds in the
 * stated order (reading slowed, store lines dropped and counted, class 3 withheld and counted),
 * says so in its log and /metrics, and still scrapes, seals and ships metric summaries and WARN+
 * lines. Under real pressure (its own memory, raised by a ballast, against the limit it read from
 * its cgroup) it takes the steps one at a time in that order and, as the pressure goes, leaves them
 * one at a time in the reverse order, until it ships everything again. In CI it must run (root,
 * cgroups, Mosquitto); elsewhere it skips where they are missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogLevel, type Batch } from '@edge-telemetry/protocol';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ballast } from '../support/ballast.js';
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
  let dir = '';
  let broker: Mosquitto;
  let acker: Acker;
  const cgroups: Cgroup[] = [];
  const runs: CollectorRun[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-memory-'));
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
  }, 60_000);

  afterAll(async () => {
    for (const r of runs) await r.stop('SIGKILL');
    for (const c of cgroups) await c.remove();
    await acker?.close();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads its cgroup memory limit at start and logs the sizes chosen', async () => {
    const cgroup = await createCgroup(`col-memory-${process.pid}`, { memoryBytes: 192 * MiB, cpus: 1 });
    cgroups.push(cgroup);
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
    const d = dir;
    const a = acker;
    const root = path.join(d, 'containers');
    const writer = liveWriter({ root, name: 'app', bytes: 4000, everyMs: 100, firstSeq: 0 });
    try {
      const run = await runCollector({
        dir: d,
        dataDir: path.join(d, 'data-shed'),
        node: 'memory-shed-gw',
        dockerRoot: root,
        brokerUrl: broker.url,
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
  it('under real pressure takes its steps one at a time in order, and as the pressure goes leaves them in reverse', async () => {
    const d = dir;
    const a = acker;
    // Large, so that the collector's own swings (a young generation collected, a store block
    // compressed: a few MiB) are fractions of a percent, well inside each step's band below, and
    // that at the last step's 0.98 the cgroup still has room (80 MiB) for the node binary's pages
    // and the page cache.
    const limit = 4096 * MiB;
    const cgroup = await createCgroup(`col-memory-ease-${process.pid}`, { memoryBytes: limit, cpus: 1 });
    cgroups.push(cgroup);
    const root = path.join(d, 'containers-ease');
    const writer = liveWriter({ root, name: 'app', bytes: 4000, everyMs: 100, firstSeq: 0 });
    const weight = await ballast(d);
    try {
      const node = 'memory-ease-gw';
      const run = await runCollector({
        dir: d,
        dataDir: path.join(d, 'data-ease'),
        node,
        dockerRoot: root,
        brokerUrl: broker.url,
        cgroup,
        nodeArgs: weight.nodeArgs,
        env: weight.env,
        // Info lines verbatim: class 3 then has lines in every window, not only new templates' samples.
        config: {
          scrapeIntervalMs: 1000,
          downsample: { windowMs: WINDOW_MS },
          logs: { defaults: { verbatimLevel: 'info' } },
        },
      });
      runs.push(run);
      const m = async (name: string) => (await run.metric(name)) ?? 0;
      const shipped = () => a.stored.filter((b) => b.node === node);
      const dropped = (batches: Batch[], stage: string, reason: string) =>
        batches
          .flatMap((b) => b.drops)
          .filter((x) => x.stage === stage && x.reason === reason)
          .reduce((n, x) => n + x.count, 0);
      const classThree = (b: Batch) =>
        b.logs.some((l) => l.level < LogLevel.warn) || b.templates.some((t) => t.count === 0 && t.samples.length > 0);
      const steps = async () => [
        await m('memory.shed.pause_reading'),
        await m('memory.shed.store_lines'),
        await m('memory.shed.info_and_samples'),
      ];
      let state = '';
      const describeState = async () =>
        (state =
          `level=${await m('memory.shed_level')} pressure=${await m('memory.pressure')} ` +
          `steps=${(await steps()).join(',')} ballast=${weight.held() / MiB} MiB ` +
          `store drops=${dropped(shipped(), 'store', 'memory_pressure')} ` +
          `class 3 withheld=${dropped(shipped(), 'memory.shed', 'info_samples')} batches=${shipped().length}`);
      const until = (what: string, probe: () => Promise<boolean>) =>
        waitFor(
          () => `${what} (${state}); output:\n${run.output().slice(-3000)}`,
          async () => {
            if (run.child.exitCode !== null) throw new Error(`collector exited (${run.child.exitCode})`);
            await describeState();
            return probe();
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      // The ballast that takes the pressure the collector reports to `target` (steps 0.88, 0.93,
      // 0.97, each left 0.05 below), and the level it must then be at, its pressure settled there.
      const pressTo = async (target: number, level: number) => {
        await weight.hold(weight.held() + (target - (await m('memory.pressure'))) * limit);
        await until(
          `pressure ${target}, shed level ${level}`,
          async () =>
            (await m('memory.shed_level')) === level && Math.abs((await m('memory.pressure')) - target) < 0.01,
        );
      };

      // It reads its limit from the cgroup, and ships every class before any pressure.
      await until('class 3 shipped', async () => shipped().some(classThree));
      const sizing = JSON.parse(run.output().match(/^.*"msg":"memory sizing".*$/m)?.[0] ?? '{}') as {
        limitBytes?: number;
      };
      expect(sizing.limitBytes).toBe(limit);
      expect(await steps()).toEqual([0, 0, 0]);

      await pressTo(0.905, 1);
      expect(await steps()).toEqual([1, 0, 0]);
      await pressTo(0.95, 2);
      expect(await steps()).toEqual([1, 1, 0]);
      await until('store lines dropped and counted', async () => dropped(shipped(), 'store', 'memory_pressure') > 0);
      await pressTo(0.98, 3);
      expect(await steps()).toEqual([1, 1, 1]);
      await until('class 3 withheld and counted', async () => dropped(shipped(), 'memory.shed', 'info_samples') > 0);

      await pressTo(0.9, 2);
      await pressTo(0.855, 1);
      await weight.hold(0);
      await until('shedding over', async () => (await m('memory.shed_level')) === 0);
      // After the first seal that began past this moment, nothing more is shed: the batches of every
      // later seal carry the drops counted since its predecessor, and ship class 3 again.
      const eased = Date.now();
      expect(await steps()).toEqual([1, 1, 1]);
      const after = () => {
        const first = Math.min(...shipped().map((b) => (b.sentAt > eased ? b.sentAt : Infinity)));
        return shipped().filter((b) => b.sentAt > first);
      };
      await until('class 3 shipped again', async () => after().some(classThree));
      expect(dropped(after(), 'store', 'memory_pressure')).toBe(0);
      expect(dropped(after(), 'memory.shed', 'info_samples')).toBe(0);
      expect(await steps()).toEqual([1, 1, 1]);

      const said = [...run.output().matchAll(/^.*"msg":"memory pressure.*$/gm)].map((l) => {
        const e = JSON.parse(l[0]) as { msg: string; steps: string[] };
        return `${e.msg}: ${e.steps.join(',')}`;
      });
      expect(said).toEqual([
        'memory pressure: shedding: pause_reading',
        'memory pressure: shedding: pause_reading,store_lines',
        'memory pressure: shedding: pause_reading,store_lines,info_and_samples',
        'memory pressure eased: pause_reading,store_lines',
        'memory pressure eased: pause_reading',
        'memory pressure eased: ',
      ]);
      expect(await cgroup.oomKills()).toBe(0);
      expect(await run.stop('SIGTERM')).toBe(0);
    } finally {
      await writer.stop();
    }
  }, 600_000);
});
