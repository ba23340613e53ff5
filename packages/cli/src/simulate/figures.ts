/** What one simulated node reports, and the fleet's totals over those reports. */
import type { RunningCollector } from '@edge-telemetry/collector';
import type { LoopDelay } from './fleet-shard.js';

type UplinkStats = ReturnType<RunningCollector['uplink']['stats']>;

export interface NodeFigures {
  node: string;
  connected: boolean;
  /** Batch publishes since start (resends included). */
  published: number;
  resends: number;
  /** Batches the ingester acknowledged (stored in ClickHouse). */
  acked: number;
  bytesSent: number;
  /** Batches in the outbox not yet acknowledged. */
  backlog: number;
  /** Connection cuts the simulator made. */
  cuts: number;
}

export function nodeFigures(
  node: string,
  s: Pick<UplinkStats, 'connected' | 'publishes' | 'resends' | 'acked' | 'bytesSent' | 'queueBatches'>,
  cuts: number,
): NodeFigures {
  return {
    node,
    connected: s.connected,
    published: s.publishes,
    resends: s.resends,
    acked: s.acked,
    bytesSent: s.bytesSent,
    backlog: s.queueBatches,
    cuts,
  };
}

const COUNTS = ['published', 'resends', 'acked', 'bytesSent', 'backlog', 'cuts'] as const;

export interface FleetTotals extends Pick<NodeFigures, (typeof COUNTS)[number]> {
  nodes: number;
  connected: number;
  /** Nodes with at least one acknowledged batch. */
  nodesAcked: number;
}

export function fleetTotals(figures: readonly NodeFigures[]): FleetTotals {
  const t: FleetTotals = {
    nodes: figures.length,
    connected: 0,
    nodesAcked: 0,
    published: 0,
    resends: 0,
    acked: 0,
    bytesSent: 0,
    backlog: 0,
    cuts: 0,
  };
  for (const f of figures) {
    if (f.connected) t.connected++;
    if (f.acked > 0) t.nodesAcked++;
    for (const k of COUNTS) t[k] += f[k];
  }
  return t;
}

export interface ProcessFigures {
  elapsedMs: number;
  rssBytes: number;
  /** Percent of one core, averaged over elapsedMs (all threads). */
  cpuPct: number;
}

/** The summary printed at the end (and, shorter, as progress): totals, per-node means, rates. */
export function formatSummary(t: FleetTotals, p: ProcessFigures): string {
  const s = p.elapsedMs / 1000;
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const per = (x: number) => (t.nodes > 0 ? x / t.nodes : 0).toFixed(1);
  return [
    `simulated ${t.nodes} nodes for ${s.toFixed(0)} s: ${t.connected} connected when it stopped, ${t.nodesAcked} with acknowledged batches`,
    `  batches published ${t.published} (${(t.published / s).toFixed(1)}/s, ${per(t.published)} per node), resends ${t.resends}`,
    `  batches acked     ${t.acked} (${(t.acked / s).toFixed(1)}/s, ${per(t.acked)} per node), backlog left ${t.backlog}`,
    `  bytes sent        ${mib(t.bytesSent)} MiB (${((t.bytesSent * 8) / s / 1000).toFixed(1)} kbit/s, ${(t.bytesSent / Math.max(1, t.nodes) / 1024).toFixed(1)} KiB per node)`,
    `  connection cuts   ${t.cuts}`,
    `  process           RSS ${mib(p.rssBytes)} MiB, CPU ${p.cpuPct.toFixed(0)}% of a core`,
  ].join('\n');
}

/**
 * One line for progress reports. The loop delay is the worst worker thread's since the last line:
 * past a second the simulator itself is short of CPU and offers less load than asked (a late log
 * tick makes up for at most 2 s).
 */
export function formatProgress(t: FleetTotals, p: ProcessFigures, loop: LoopDelay): string {
  return `[${(p.elapsedMs / 1000).toFixed(0)} s] ${t.connected}/${t.nodes} connected, published ${t.published}, acked ${t.acked}, backlog ${t.backlog}, cuts ${t.cuts}, ${(t.bytesSent / 1048576).toFixed(1)} MiB sent, RSS ${(p.rssBytes / 1048576).toFixed(0)} MiB, CPU ${p.cpuPct.toFixed(0)}%, loop delay p99 ${loop.p99Ms} ms (max ${loop.maxMs} ms)`;
}
