/**
 * Issue 15, memory independent of what is tailed: the real collector bin at its first start over
 * a Docker root of 3,000 exited containers' json-file logs (a CI runner's jobs, 20 lines each, their
 * times spread over two hours: bench/support/exited-containers.ts), read from their start, in the
 * gateway's budget (128 MiB, 0.2 CPU, the launcher's flags and malloc settings), its uplink to a real
 * Mosquitto where the stand-in ingester acknowledges every batch. Beside it, in a cgroup of its own
 * with the same limits and for the same time, the same bin over an empty Docker root: the baseline.
 * Both run HOLD_MS, past the 2 minutes after which the containers' states are let go.
 *
 * Figures: VmHWM and the cgroup's anonymous peak of each, and their CPU once the files are read
 * and rest. The note says what arrived (every WARN+ line once, in how many batches) and OOM kills.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LogLevel } from '@edge-telemetry/protocol';
import { against, type BenchCase, type Figure } from './harness.js';
import {
  anonSampler,
  CAUGHT_UP_POLL_MS,
  inCgroup,
  MIB,
  procStatus,
  STARTED,
  startBin,
  withCollectorRig,
} from './support/collector-bin.js';
import { writeExitedContainers } from './support/exited-containers.js';
import { cgroupVersion } from '../test/support/cgroup.js';
import { waitFor } from '../test/support/wait.js';
import { caughtUp } from '../test/collector/rig.js';

/** ET_BENCH_EXITED_CONTAINERS and ET_BENCH_EXITED_HOLD_MS make a quick try (figures are named for these). */
const CONTAINERS = Number(process.env.ET_BENCH_EXITED_CONTAINERS ?? 3000);
const LINES = 20;
/** From start to the figures: reading (~30 s at 0.2 CPU), then the 2 minutes before idle states are let go. */
const HOLD_MS = Number(process.env.ET_BENCH_EXITED_HOLD_MS ?? 150_000);
/** From start to where the CPU of an idle collector is counted from (to HOLD_MS): reading is done by then. */
const IDLE_FROM_MS = HOLD_MS * 0.4;

interface Run {
  hwm: number;
  anonPeak: number;
  cpu: number;
  /** CPU per second (a share of one core) from IDLE_FROM_MS, or reading's end if later, to HOLD_MS. */
  idleCpu: number;
  oom: number;
}

const exitedContainers: BenchCase = {
  name: 'collector.exited_containers',
  run: () =>
    withCollectorRig('exited', async (dir, link): Promise<Figure[]> => {
      const root = path.join(dir, 'containers');
      const empty = path.join(dir, 'empty-root');
      await mkdir(empty);
      const input = await writeExitedContainers(root, CONTAINERS, LINES, Date.now() - 600_000);
      const load = os.loadavg()[0]?.toFixed(1) ?? '?';
      const measure = (node: string, dockerRoot: string, entries: number) =>
        inCgroup(node, async (cgroup): Promise<Run> => {
          const t0 = Date.now();
          const sub = path.join(dir, node);
          await mkdir(sub);
          // The deployed poll interval (rig.ts polls every 200 ms): every rested file is looked at each poll.
          const logFiles = { enabled: true, dockerRoot, podsRoot: '', readFromHead: true };
          const config = { sources: { docker: { enabled: false }, logFiles } };
          const run = await startBin({ dir: sub, node, dockerRoot, link, cgroup, config });
          const anon = anonSampler(cgroup);
          try {
            if (entries > 0) await caughtUp(run, 600_000, entries, CAUGHT_UP_POLL_MS);
            await new Promise((r) => setTimeout(r, Math.max(0, t0 + IDLE_FROM_MS - Date.now())));
            const [idleFrom, idleCpu0] = [Date.now(), await cgroup.cpuSeconds()];
            await new Promise((r) => setTimeout(r, Math.max(0, t0 + HOLD_MS - Date.now())));
            const hwm = await procStatus(run.child.pid, 'VmHWM');
            const cpu = await cgroup.cpuSeconds();
            const idleCpu = ((cpu - idleCpu0) * 1000) / (Date.now() - idleFrom);
            const oom = await cgroup.oomKills();
            const code = await run.stop('SIGTERM');
            if (code !== 0) throw new Error(`collector exited ${code}: ${run.output().slice(-2000)}`);
            return { hwm, anonPeak: anon.stop(), cpu, idleCpu, oom };
          } finally {
            anon.stop();
            await run.stop('SIGKILL');
          }
        }).then((r) => r.value);
      const [measured, idle] = await Promise.all([
        measure('bench-exited', root, input.entries),
        measure('bench-exited-idle', empty, 0),
      ]);
      const batches = () => link.acker.stored.filter((b) => b.node === 'bench-exited');
      // Every WARN+ line, once: (container, time, message) is unique in the input.
      const warnSeen = () => {
        const seen = new Map<string, number>();
        for (const b of batches())
          for (const l of b.logs)
            if (l.level >= LogLevel.warn)
              seen.set(
                `${l.container} ${l.ts} ${l.message}`,
                (seen.get(`${l.container} ${l.ts} ${l.message}`) ?? 0) + 1,
              );
        return seen;
      };
      const seen = await waitFor(
        () => `the WARN+ lines of ${CONTAINERS} containers (${warnSeen().size} of ${input.warn})`,
        () => (warnSeen().size >= input.warn ? warnSeen() : undefined),
        { timeoutMs: 300_000, intervalMs: 2000 },
      );
      const once = [...seen.values()].filter((n) => n === 1).length;
      const describe = (r: Run) =>
        `VmHWM ${(r.hwm / MIB).toFixed(1)} MiB, cgroup anon peak ${(r.anonPeak / MIB).toFixed(1)} MiB, ${r.cpu.toFixed(1)} CPU-s (${(r.idleCpu * 100).toFixed(2)} % of a core once read), OOM kills ${r.oom}`;
      const budget = `cgroup v${String(cgroupVersion())} 128 MiB, 0.2 CPU, default configuration, ${STARTED}`;
      const what = `real bin, first start over ${CONTAINERS.toLocaleString('en')} exited containers' json-file logs (${LINES} lines each, ${input.entries.toLocaleString('en')} in all, times over 2 h) read from their start, ${HOLD_MS / 1000} s: ${describe(measured)}; ${once} of ${input.warn} WARN+ lines arrived once, ${seen.size - once} more than once, in ${batches().length} batches; baseline the same bin over an empty Docker root beside it: ${describe(idle)}; ${budget}; load average ${load}`;
      return [
        against(
          'collector.exited_containers_peak_rss_mib',
          'MiB',
          measured.hwm / MIB,
          idle.hwm / MIB,
          `VmHWM (bar 96); ${what}`,
        ),
        against(
          'collector.exited_containers_anon_peak_mib',
          'MiB',
          measured.anonPeak / MIB,
          idle.anonPeak / MIB,
          "the cgroup's peak anonymous memory (memory.stat rss/anon, sampled every 250 ms); same run as collector.exited_containers_peak_rss_mib",
        ),
        against(
          'collector.exited_containers_idle_cpu_pct',
          '% of one core',
          measured.idleCpu * 100,
          idle.idleCpu * 100,
          `CPU while nothing is written, the ${CONTAINERS.toLocaleString('en')} files read and resting (from ${IDLE_FROM_MS / 1000} s to ${HOLD_MS / 1000} s; the budget is 20 %); baseline the bin over an empty root beside it; same run as collector.exited_containers_peak_rss_mib`,
        ),
      ];
    }),
};

export const benches: BenchCase[] = [exitedContainers];
