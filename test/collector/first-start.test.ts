/**
 * A container's first start in its 128 MiB budget (issue 15: "it never lets the kernel kill it").
 * On a gateway that never ran node before, the collector pages in node's own binary and libraries
 * itself, and the kernel charges those file pages (~40 MiB) to the collector's cgroup; on this
 * machine every other test finds them already cached and charged elsewhere. Here the real bin runs
 * from a copy of node written by `cp` inside the test's cgroup, so the copy's pages are charged
 * there as an image layer's are to the container that reads it first. The copy lives under the
 * repository's test-artifacts/, not the temporary folder: on a tmpfs it would be 94 MiB of memory
 * that the cgroup can never give back.
 *
 * With a json-file backlog to read, the collector's pressure signal counts the mapped file pages
 * charged to its cgroup (memory.stat) on top of its anonymous memory, as the kernel does: raised
 * to 0.9 by a ballast of its own memory, it takes the first shed step while its anonymous memory
 * alone is under that step, eases when the ballast goes, reads the whole backlog, and the cgroup's
 * OOM counter stays 0. In CI it must run (root, cgroups, Mosquitto); elsewhere it skips where they
 * are missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchEnv, launchFlags } from '@edge-telemetry/collector';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ballast } from '../support/ballast.js';
import { cgroupVersion, createCgroup, type Cgroup } from '../support/cgroup.js';
import { writeJsonFileBacklog } from '../support/json-file-backlog.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { repoRoot } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { startAcker, type Acker } from '../uplink/acker.js';
import { caughtUp, runCollector, tearDown, type CollectorRun } from './rig.js';

const MiB = 1024 * 1024;
const LIMIT = 128 * MiB;
const canRun = cgroupVersion() !== undefined;
if (process.env.CI && !canRun) throw new Error('CI must run the first-start test: no writable cgroup v1 or v2 here');

/** A number from the cgroup's memory.stat (v1 `total_<key>`, v2 `<v2key>`), in bytes. */
async function memoryStat(cgroup: Cgroup, v1: string, v2: string): Promise<number> {
  const text = await readFile(path.join(cgroup.dirs[0] as string, 'memory.stat'), 'utf8');
  const key = cgroup.version === 1 ? `total_${v1}` : v2;
  return Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
}

describe.runIf(canRun && haveMosquitto())("collector's first start in 128 MiB: node's own pages counted", () => {
  let dir = '';
  let broker: Mosquitto;
  let acker: Acker;
  let cgroup: Cgroup | undefined;
  let run: CollectorRun | undefined;

  beforeAll(async () => {
    await mkdir(path.join(repoRoot, 'test-artifacts'), { recursive: true });
    dir = await mkdtemp(path.join(repoRoot, 'test-artifacts', 'first-start-'));
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
  }, 60_000);

  afterAll(() => tearDown({ run, cgroup, acker, broker, dir }));

  it('counts the file pages the kernel charges it, sheds on them, is not OOM-killed and reads the backlog', async () => {
    const root = path.join(dir, 'containers');
    const backlog = await writeJsonFileBacklog({ root, name: 'app', bytes: 20 * MiB, startMs: Date.now() - 3_600_000 });
    cgroup = await createCgroup(`col-first-start-${process.pid}`, { memoryBytes: LIMIT, cpus: 1 });
    const cg = cgroup;
    const nodeBin = path.join(dir, 'node');
    const cp = cg.spawn('cp', [process.execPath, nodeBin], { stdio: 'ignore' });
    expect(await new Promise((resolve) => cp.once('exit', resolve))).toBe(0);

    const weight = await ballast(dir);
    const r = await runCollector({
      dir,
      node: 'first-start-gw',
      dockerRoot: root,
      brokerUrl: broker.url,
      cgroup: cg,
      nodeBin,
      // As the image's launch.sh starts it under 128 MiB, with the ballast's preload.
      nodeArgs: [...weight.nodeArgs, ...launchFlags(LIMIT)],
      env: { ...launchEnv(LIMIT), ...weight.env },
    });
    run = r;
    const m = async (name: string) => (await r.metric(name)) ?? 0;
    let state = '';
    const until = (what: string, probe: () => Promise<boolean>) =>
      waitFor(
        () => `${what} (${state}); output:\n${r.output().slice(-3000)}`,
        async () => {
          if (r.child.exitCode !== null || r.child.signalCode !== null)
            throw new Error(
              `collector exited (${r.child.exitCode ?? r.child.signalCode}); OOM kills ${await cg.oomKills()}`,
            );
          state =
            `level=${await m('memory.shed_level')} pressure=${await m('memory.pressure')} ` +
            `mapped=${(await memoryStat(cg, 'mapped_file', 'file_mapped')) / MiB} MiB ` +
            `anon=${(await memoryStat(cg, 'rss', 'anon')) / MiB} MiB ballast=${weight.held() / MiB} MiB ` +
            `oom kills=${await cg.oomKills()}`;
          return probe();
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );

    // Node's code was paged in by the collector, so its cgroup pays for it.
    await until('the pressure sampled', async () => (await m('memory.pressure')) > 0);
    expect(await memoryStat(cg, 'mapped_file', 'file_mapped')).toBeGreaterThan(16 * MiB);

    // Its own memory raised until what it reports is 0.9: the first step (0.88) is taken. Topped up
    // by at most 4 MiB a second: the pressure it reports is a sample of up to a second ago, and one
    // top-up of the whole gap from a stale 0.47 (55 MiB at once, while the backlog's reading grew)
    // took the cgroup over its limit (OOM-killed in a fresh-clone run). Topped up until the step
    // is taken, not only below 0.86: a 4 MiB step (0.031) from under 0.86 may land between 0.86
    // and 0.88 (seen: 0.873-0.880 for 2.5 s), where no top-up came and only the reading's own
    // memory could cross the step, within the 120 s or not.
    let toppedUp = 0;
    await until('the first shed step', async () => {
      if ((await m('memory.shed_level')) >= 1) return true;
      const p = await m('memory.pressure');
      if (p > 0 && p < 0.88 && Date.now() - toppedUp >= 1_000) {
        await weight.hold(weight.held() + Math.min((0.9 - p) * LIMIT, 4 * MiB));
        toppedUp = Date.now();
      }
      return false;
    });
    const shedding = JSON.parse(r.output().match(/^.*"msg":"memory pressure: shedding".*$/m)?.[0] ?? '{}') as {
      anonBytes?: number;
      fileMappedBytes?: number;
    };
    // Taken on the file pages as well: the anonymous memory alone was under the step.
    expect(shedding.fileMappedBytes).toBeGreaterThan(0);
    expect(shedding.anonBytes).toBeLessThan(0.88 * LIMIT);

    await weight.hold(0);
    await until('shedding over', async () => (await m('memory.shed_level')) === 0);
    await caughtUp(r, 300_000, backlog.entries);
    expect(await cg.oomKills()).toBe(0);
    expect(await r.stop('SIGTERM')).toBe(0);
  }, 600_000);
});
