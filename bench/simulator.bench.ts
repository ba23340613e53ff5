/**
 * simulator.*: the fleet simulator (issue 6) at 1,000 nodes: `edge-telemetry simulate --nodes
 * 1000` as users run it (light profile, 10 s scrapes, 60 s windows, Loghub lines, two worker
 * threads), against real Mosquitto and the ingester bin on embedded ClickHouse, so that batches are
 * acknowledged and outboxes drain as in production. Measured over two windows after start-up:
 * RSS (peak) and CPU of the simulator process, all threads, from /proc; batches published and
 * acknowledged per second from its progress lines.
 *
 * Baseline in the same run: the same command with one node, i.e. the idle simulator (runtime,
 * worker thread, modules, shared inputs), over one window. Per-node cost = (figure - baseline) / 999.
 * The nodes' data folders are on tmpfs where there is one (/dev/shm): a thousand outboxes each
 * fdatasync'ing every batch on the one shared disk measure the disk, not the simulator.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMosquitto } from '../test/support/mosquitto.js';
import { bins, runNode, startIngesterBin, type RunningProcess } from '../test/support/processes.js';
import type { BenchCase, Figure } from './harness.js';
import { procFigures, TICKS_PER_S } from './support/proc.js';

const NODES = 1000;
const WINDOW_MS = 60_000;
const STEADY_MS = 2 * WINDOW_MS;
const SAMPLE_MS = 5000;

interface Run {
  rssMib: number;
  cpuPct: number;
  publishedPerS: number;
  ackedPerS: number;
  startS: number;
}

const PROGRESS = /published (\d+), acked (\d+)/g;
function lastProgress(out: string): { published: number; acked: number } {
  const all = [...out.matchAll(PROGRESS)];
  const m = all.at(-1);
  return { published: Number(m?.[1] ?? 0), acked: Number(m?.[2] ?? 0) };
}

async function simulate(nodes: number, steadyMs: number, brokerUrl: string, dir: string): Promise<Run> {
  const t0 = Date.now();
  const sim = runNode(bins.cli, [
    'simulate',
    '--nodes',
    String(nodes),
    '--broker',
    brokerUrl,
    '--data-dir',
    path.join(dir, `sim-${nodes}`),
    '--prefix',
    `bench${nodes}`,
    '--progress',
    '5',
  ]);
  try {
    await sim.waitFor(/simulating \d+ gateways/, 300_000);
    const startS = (Date.now() - t0) / 1000;
    // Steady state begins once every node has sealed a window.
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const pid = sim.child.pid as number;
    const first = await procFigures(pid);
    const p0 = lastProgress(sim.output());
    const w0 = Date.now();
    let peak = first.rssKib;
    while (Date.now() - w0 < steadyMs) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      peak = Math.max(peak, (await procFigures(pid)).rssKib);
    }
    const last = await procFigures(pid);
    const p1 = lastProgress(sim.output());
    const s = (Date.now() - w0) / 1000;
    return {
      rssMib: peak / 1024,
      cpuPct: ((last.cpuTicks - first.cpuTicks) / TICKS_PER_S / s) * 100,
      publishedPerS: (p1.published - p0.published) / s,
      ackedPerS: (p1.acked - p0.acked) / s,
      startS,
    };
  } finally {
    await sim.stop('SIGINT');
  }
}

export const benches: BenchCase[] = [
  {
    name: 'simulator.1000_nodes',
    async run(): Promise<Figure[]> {
      const dir = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'et-bench-sim-'));
      const broker = await startMosquitto({ persistence: false });
      let ingester: RunningProcess | undefined;
      try {
        ({ proc: ingester } = await startIngesterBin({
          dir,
          brokerUrl: broker.url,
          clientId: 'bench-sim-ingester',
          token: 'bench-simulator-token-0123456789abcdef',
        }));
        const idle = await simulate(1, WINDOW_MS, broker.url, dir);
        const fleet = await simulate(NODES, STEADY_MS, broker.url, dir);
        const load = os.loadavg()[0]?.toFixed(1);
        const note = `${NODES} nodes, 60 s windows, 2 worker threads, with Mosquitto and the ingester on the same 2 cores; load average ${load}; started in ${fleet.startS.toFixed(0)} s`;
        return [
          {
            name: 'simulator.rss_mib_1000_nodes',
            value: fleet.rssMib,
            unit: 'MiB',
            baseline: idle.rssMib,
            ratio: fleet.rssMib / idle.rssMib,
            note: `peak over 2 windows; baseline: the same command with 1 node; ${note}`,
          },
          {
            name: 'simulator.rss_kib_per_node',
            value: ((fleet.rssMib - idle.rssMib) * 1024) / (NODES - 1),
            unit: 'KiB',
            note: '(RSS at 1000 nodes - RSS at 1 node) / 999',
          },
          {
            name: 'simulator.cpu_pct_1000_nodes',
            value: fleet.cpuPct,
            unit: '% of a core',
            baseline: idle.cpuPct,
            ratio: fleet.cpuPct / Math.max(0.1, idle.cpuPct),
            note: `all threads, over 2 windows; ${note}`,
          },
          {
            name: 'simulator.batches_per_s_1000_nodes',
            value: fleet.publishedPerS,
            unit: 'batches/s',
            note: 'publishes (resends included), 4 priority classes per window plus event batches',
          },
          {
            name: 'simulator.acked_per_s_1000_nodes',
            value: fleet.ackedPerS,
            unit: 'batches/s',
            baseline: fleet.publishedPerS,
            ratio: fleet.ackedPerS / Math.max(1e-9, fleet.publishedPerS),
            note: 'acknowledged by the ingester (stored in ClickHouse); ratio to published',
          },
        ];
      } finally {
        await ingester?.stop();
        await broker.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
