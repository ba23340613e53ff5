/**
 * collector.backlog on a second input: the same real bin, default configuration, node flags and
 * 128 MiB / 0.2 CPU cgroup, over a json-file backlog of Loghub-2k's ten systems
 * (support/loghub-backlog.ts) instead of the seeded mix the collector was tuned on. CPU per million
 * lines, start-up and the uplink's drain included, against the same plain Node pass over this file.
 * ET_BENCH_LOGHUB_MIB sets its size (default 50 MiB, ~265k lines).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchCase, Figure } from './harness.js';
import { readLoghubLines } from './support/loghub-lines.js';
import { writeLoghubBacklog } from './support/loghub-backlog.js';
import { parseCsv } from '../packages/collector/src/transforms/templates/csv.js';
import { waitFor } from '../test/support/wait.js';
import { caughtUp } from '../test/collector/rig.js';
import {
  CAUGHT_UP_POLL_MS,
  MIB,
  STARTED,
  inCgroup,
  plainReader,
  procStatus,
  startBin,
  withCollectorRig,
} from './support/collector-bin.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORPORA = path.join(here, '../../shared/corpora');
const LOGHUB_MIB = Number(process.env.ET_BENCH_LOGHUB_MIB ?? 50);

const collectorBacklogLoghub: BenchCase = {
  name: 'collector.backlog_loghub',
  run: () =>
    withCollectorRig('loghub', async (dir, link): Promise<Figure[]> => {
      const root = path.join(dir, 'containers');
      const datasets = await readLoghubLines(path.join(CORPORA, 'loghub2k'), parseCsv);
      // Ending an hour ago: every window of the backlog is in the past, sealed as reading passes it.
      const backlog = await writeLoghubBacklog({
        root,
        name: 'loghub',
        bytes: LOGHUB_MIB * MIB,
        endMs: Date.now() - 3_600_000,
        datasets,
      });
      const plain = await plainReader(dir, backlog.file);
      const node = 'bench-loghub';
      const { value: m } = await inCgroup(node, async (cgroup) => {
        const t0 = Date.now();
        const run = await startBin({ dir, node, dockerRoot: root, link, cgroup });
        try {
          await caughtUp(run, 3_600_000, backlog.entries, CAUGHT_UP_POLL_MS);
          const readMs = Date.now() - t0;
          // Done once the window of the last line has arrived and the outbox holds nothing more.
          const lastWindow = () =>
            link.acker.stored.some(
              (b) =>
                b.node === node &&
                b.windowStart <= backlog.lastTs &&
                b.windowEnd > backlog.lastTs &&
                b.templates.some((t) => t.container === 'loghub'),
            );
          await waitFor(
            () => `the last window of the backlog and an empty outbox; output:\n${run.output().slice(-2000)}`,
            async () => {
              if (!lastWindow()) return false;
              const health = (await (await fetch(`${run.httpUrl()}/healthz`)).json()) as { queueBatches: number };
              return health.queueBatches === 0;
            },
            { timeoutMs: 600_000, intervalMs: 1000 },
          );
          const cpu = await cgroup.cpuSeconds();
          return { cpu, readMs, doneMs: Date.now() - t0, hwm: await procStatus(run.child.pid, 'VmHWM') };
        } finally {
          await run.stop('SIGKILL');
        }
      });
      const value = (m.cpu / backlog.entries) * 1e6;
      const baseline = (plain.cpu / plain.lines) * 1e6;
      return [
        {
          name: 'collector.backlog_loghub_cpu_s_per_million_lines',
          value,
          unit: 'CPU-s/M lines',
          baseline,
          ratio: value / baseline,
          note: `real bin, ${(backlog.bytes / MIB).toFixed(0)} MiB json-file backlog of Loghub-2k's ${datasets.length} systems in turn, ${backlog.entries.toLocaleString('en')} lines, the 128 MiB / 0.2 CPU cgroup and flags of collector.backlog_cpu_s_per_million_lines (${STARTED}), start-up and the uplink's drain included (${m.cpu.toFixed(1)} CPU-s; read in ${(m.readMs / 1000).toFixed(0)} s, drained after ${(m.doneMs / 1000).toFixed(0)} s; VmHWM ${(m.hwm / MIB).toFixed(0)} MiB); baseline: the same plain Node pass over this file (${plain.cpu.toFixed(1)} CPU-s)`,
        },
      ];
    }),
};

export const benches: BenchCase[] = [collectorBacklogLoghub];
