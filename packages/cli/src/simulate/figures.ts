/** What one simulated node reports, and the fleet's totals over those reports. */
import type { RunningCollector } from '@edge-telemetry/collector';
import type { LoopDelay } from './fleet-shard.js';
import type { GateConnection } from './outage-gate.js';

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
  /** Why a node may not be sending, as of when the figures were taken (printed for nodes without acks). */
  diagnosis: NodeDiagnosis;
}

export interface NodeDiagnosis {
  /** The transport's phase (connected, connecting, waiting to reconnect, closed) and for how long. */
  link: UplinkStats['link']['phase'];
  linkForMs: number;
  /** Since the link last came up (undefined: never). */
  connectedAgoMs: number | undefined;
  /** Failed connection attempts since the last connect. */
  attempts: number;
  /** Batches published and not acknowledged; sends waiting in the publish chain. */
  inflight: number;
  chainPending: number;
  lastPublishAgoMs: number | undefined;
  /** The last connection or publish error, and how long ago. */
  lastError: { agoMs: number; message: string } | undefined;
  /** The simulator's cut is still on (its outage gate refuses connections). */
  cutOn: boolean;
  /** Bytes the node's current connection wrote and read, as its transport sees them. */
  socket: UplinkStats['link']['socket'];
  /** The node's connections through its outage gate. */
  gate: GateConnection[];
}

export function nodeFigures(
  node: string,
  s: Pick<
    UplinkStats,
    | 'connected'
    | 'publishes'
    | 'resends'
    | 'acked'
    | 'bytesSent'
    | 'queueBatches'
    | 'inflight'
    | 'link'
    | 'chainPending'
    | 'lastPublishAt'
    | 'lastPublishError'
  >,
  cuts: number,
  gate: { down: boolean; connections: GateConnection[] },
  now: number,
): NodeFigures {
  const ago = (at: number) => (at > 0 ? now - at : undefined);
  const errors = [s.link.lastError, s.lastPublishError].filter((e) => e !== undefined);
  const lastError = errors.sort((a, b) => b.at - a.at)[0];
  return {
    node,
    connected: s.connected,
    published: s.publishes,
    resends: s.resends,
    acked: s.acked,
    bytesSent: s.bytesSent,
    backlog: s.queueBatches,
    cuts,
    diagnosis: {
      link: s.link.phase,
      linkForMs: now - s.link.since,
      connectedAgoMs: ago(s.link.connectedAt),
      attempts: s.link.attempts,
      inflight: s.inflight,
      chainPending: s.chainPending,
      lastPublishAgoMs: ago(s.lastPublishAt),
      lastError: lastError && { agoMs: now - lastError.at, message: lastError.message },
      cutOn: gate.down,
      socket: s.link.socket,
      gate: gate.connections,
    },
  };
}

/**
 * One line per node that had no batch acknowledged by the end (nothing on a healthy run), from
 * `before`: the figures taken before the stop, while the links still were what the run made them.
 */
export function formatUnacked(end: readonly NodeFigures[], before: readonly NodeFigures[], loop: LoopDelay): string[] {
  const s = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s ago`);
  const lines = end
    .filter((f) => f.acked === 0)
    .map((f) => {
      const b = before.find((x) => x.node === f.node) ?? f;
      const d = b.diagnosis;
      return (
        `  no acks from ${f.node}: link ${d.link} for ${(d.linkForMs / 1000).toFixed(1)} s` +
        // The sender's own view, when it disagrees with the link's.
        `${b.connected !== (d.link === 'connected') ? ` (sender ${b.connected ? 'connected' : 'disconnected'})` : ''}` +
        `${d.cutOn ? ' (cut on)' : ''}, ${d.attempts} failed attempts, connected ${s(d.connectedAgoMs)}, ` +
        `published ${f.published} (last ${s(d.lastPublishAgoMs)}), in flight ${d.inflight}, ` +
        `publish chain ${d.chainPending}, outbox ${f.backlog}, cuts ${f.cuts}, ` +
        `last error ${d.lastError ? `${s(d.lastError.agoMs)}: ${d.lastError.message}` : 'none'}` +
        `, socket ${formatSocket(d.socket)}` +
        `, relay ${d.gate.length === 0 ? 'none' : d.gate.map(formatGateConnection).join('; ')}`
      );
    });
  if (lines.length === 0) return [];
  // A worker thread whose loop stalled seconds leaves its nodes' timers and sockets unserved
  // meanwhile: their lines then show the simulator's shortfall, not the nodes'.
  return [
    `  simulator's worst event-loop delay over the run: ${loop.maxMs} ms (p99 ${loop.p99Ms} ms); nodes without acks:`,
    ...lines,
  ];
}

function formatSocket(s: NodeDiagnosis['socket']): string {
  if (s === undefined) return 'none';
  const state = [s.connecting && 'connecting', s.destroyed && 'destroyed'].filter(Boolean).join(', ');
  return `${s.written} B written (${s.unsent} B unsent)/${s.read} B read${state ? ` (${state})` : ''}`;
}

function formatGateConnection(c: GateConnection): string {
  return (
    `${(c.ageMs / 1000).toFixed(1)} s old${c.upstreamConnecting ? ' (broker side connecting)' : ''}` +
    `${c.paused.length > 0 ? ` (not reading from ${c.paused.join(', ')})` : ''}: ` +
    `${c.up} B up (${c.forwarded} B forwarded), ${c.down} B down`
  );
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
  return `[${(p.elapsedMs / 1000).toFixed(0)} s] ${t.connected}/${t.nodes} connected, published ${t.published}, acked ${t.acked}, resends ${t.resends}, backlog ${t.backlog}, cuts ${t.cuts}, ${(t.bytesSent / 1048576).toFixed(1)} MiB sent, RSS ${(p.rssBytes / 1048576).toFixed(0)} MiB, CPU ${p.cpuPct.toFixed(0)}%, loop delay p99 ${loop.p99Ms} ms (max ${loop.maxMs} ms)`;
}
