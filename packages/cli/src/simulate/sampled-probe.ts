/**
 * The process' CPU time and RSS read once per period for all the simulated nodes of a thread.
 * Every node reports its process' figures in each batch; read per node, process.cpuUsage() and the
 * RSS read took 7% of the simulator's CPU at 300 nodes, and all nodes would read the same process.
 */
import { nodeProcessProbe, type ProcessProbe } from '@edge-telemetry/collector';

export interface SampledProbe extends ProcessProbe {
  close(): void;
}

export function sampledProcessProbe(periodMs: number, source: ProcessProbe = nodeProcessProbe): SampledProbe {
  let cpu = source.cpuMicros();
  let rss = source.rssBytes();
  let now = source.nowMs();
  const timer = setInterval(() => {
    cpu = source.cpuMicros();
    rss = source.rssBytes();
    now = source.nowMs();
  }, periodMs).unref();
  return {
    cpuMicros: () => cpu,
    rssBytes: () => rss,
    nowMs: () => now,
    close: () => clearInterval(timer),
  };
}
