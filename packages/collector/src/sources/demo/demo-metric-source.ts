/**
 * A metric source for demo and simulated gateways (Vector calls its equivalent `demo_logs`):
 * containers shaped by real NAB series, with counters that reset on restart and the odd OOM kill,
 * so that the downstream stages meet what real gateways produce.
 */
import type { ContainerEvent } from '@edge-telemetry/protocol';
import type { MetricSource, Sample, ScrapeResult } from '../types.js';
import type { DemoContainer } from './fleet-profile.js';
import { createPrng, seedFrom } from './prng.js';

export interface DemoSeries {
  /** CPU utilisation in percent (NAB cpu_utilization_asg_misconfiguration). */
  cpu: number[];
  /** A slowly wandering physical value, used for memory drift (NAB machine_temperature). */
  drift: number[];
}

export interface DemoMetricSourceOptions {
  node: string;
  containers: DemoContainer[];
  series: DemoSeries;
  scrapeIntervalMs: number;
  /** Chance per container per scrape of a restart (counters reset, `restart` event). */
  restartProbability?: number;
  onEvent?: (e: ContainerEvent) => void;
}

interface State {
  rx: number;
  tx: number;
  memExtra: number;
}

export function createDemoMetricSource(opts: DemoMetricSourceOptions): MetricSource {
  const rnd = createPrng(seedFrom(`${opts.node}/metrics`));
  const state = new Map<string, State>();
  const pRestart = opts.restartProbability ?? 1 / 5000;
  const at = (arr: number[], i: number) => arr[((i % arr.length) + arr.length) % arr.length] ?? 0;
  const driftMean = opts.series.drift.reduce((a, b) => a + b, 0) / Math.max(1, opts.series.drift.length);

  return {
    name: 'demo',
    async scrape(now: number): Promise<ScrapeResult> {
      const tick = Math.floor(now / opts.scrapeIntervalMs);
      const samples: Sample[] = [];
      for (const c of opts.containers) {
        const name = c.info.name;
        let s = state.get(name);
        if (!s) state.set(name, (s = { rx: 0, tx: 0, memExtra: 0 }));
        if (rnd() < pRestart) {
          s.rx = 0;
          s.tx = 0;
          s.memExtra = 0;
          opts.onEvent?.({ ts: now, container: name, kind: 'restart', attrs: { exitCode: '137', reason: 'demo' } });
        }
        const cpu = Math.max(0, at(opts.series.cpu, tick + c.phase) * c.cpuScale + (rnd() - 0.5));
        s.memExtra += (at(opts.series.drift, tick + c.phase) - driftMean) * 1e5 + (rnd() - 0.45) * 2e5;
        let mem = c.memBaseBytes + s.memExtra;
        if (mem >= c.memLimitBytes) {
          opts.onEvent?.({ ts: now, container: name, kind: 'oom', attrs: { limitBytes: String(c.memLimitBytes) } });
          s.memExtra = 0;
          mem = c.memBaseBytes;
        }
        mem = Math.max(1 << 20, mem);
        const seconds = opts.scrapeIntervalMs / 1000;
        s.rx += Math.round(c.netRate * seconds * (0.5 + rnd()));
        s.tx += Math.round(c.netRate * 0.3 * seconds * (0.5 + rnd()));
        samples.push(
          { container: name, metric: 'cpu.usage_pct', value: cpu, ts: now, kind: 'gauge' },
          { container: name, metric: 'mem.usage_bytes', value: Math.round(mem), ts: now, kind: 'gauge' },
          { container: name, metric: 'mem.limit_bytes', value: c.memLimitBytes, ts: now, kind: 'gauge' },
          { container: name, metric: 'net.rx_bytes', value: s.rx, ts: now, kind: 'counter' },
          { container: name, metric: 'net.tx_bytes', value: s.tx, ts: now, kind: 'counter' },
          { container: name, metric: 'pids.current', value: 4 + Math.floor(rnd() * 3), ts: now, kind: 'gauge' },
        );
      }
      return { samples, containers: opts.containers.map((c) => c.info) };
    },
    async close() {},
  };
}
