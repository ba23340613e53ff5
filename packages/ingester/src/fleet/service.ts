/**
 * Fleet control at the center: keeps what each node says of its configuration (status messages:
 * labels, versions, applying / applied / failed), and sends each node its merged document in a
 * `config` command whenever the revision it should run is above the one it reported: after a
 * change that concerns it (online or not: its persistent session queues the command), and when it
 * comes back (its birth message), so a node that was offline longer than a command's expiry still
 * gets the latest revision, never an older one. Nodes that do not list CONFIG_DOC_VERSION in their
 * capabilities are sent nothing.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import {
  CONFIG_DOC_VERSION,
  createConfigCodec,
  encodeCommand,
  topics,
  type ConfigDocument,
  type ConfigStatus,
  type StatusMessage,
} from '@edge-telemetry/protocol';
import type { Logger } from '../logger.js';
import { createLatestCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';
import type { ConfigDocuments } from './documents.js';
import { desiredFor, diffOptions, type Desired, type DiffEntry, type Layer, type Scope } from './layers.js';

/** A command waits this long in a node's session; a node back later gets the latest on its birth instead. */
export const CONFIG_COMMAND_TTL_MS = 3_600_000;
/** Layers are read again after this long (another ingester may have changed them). */
const LAYER_CACHE_MS = 1000;

export interface NodeConfigState {
  node: string;
  online: boolean;
  agentVersion: string;
  labels: Record<string, string>;
  /** Document versions the node reads (empty: it takes no remote configuration). */
  configVersions: number[];
  config: ConfigStatus | undefined;
  reportedAt: number;
}

export interface ChangeResult {
  layer: Layer;
  previous: Layer | undefined;
  diff: DiffEntry[];
  /** Nodes sent the new revision now (the others get it when they come back). */
  sent: number;
}

export interface FleetConfig {
  /** A node's status message (router): remembered, its row queued, the node sent what it lacks. */
  noted(status: StatusMessage, receivedAt: number): void;
  /** A new version of one layer from what it was (undefined: none yet or removed); resolves after sending. */
  change(
    scope: Scope,
    target: string,
    next: (previous: ConfigDocument | undefined) => ConfigDocument | undefined,
    by: string,
  ): Promise<ChangeResult>;
  layers(): Promise<Layer[]>;
  history(scope: Scope, target: string, limit: number): Promise<Layer[]>;
  /** Every node heard of, with what it should run. */
  nodes(): Promise<Array<NodeConfigState & { desiredRev: number }>>;
  /** One node's state and merged document; undefined when never heard of. */
  node(node: string): Promise<(NodeConfigState & { desired: Desired }) | undefined>;
  drain(): Promise<void>;
}

export interface FleetConfigDeps {
  client: ClickHouseClient;
  documents: ConfigDocuments;
  logger: Logger;
  /** QoS 1 publish through the ingester's broker connection. */
  publish(topic: string, payload: Buffer): Promise<void>;
  now?: () => number;
}

interface StateRow {
  NodeName: string;
  Online: number;
  AgentVersion: string;
  Labels: Record<string, string>;
  ConfigVersions: number[];
  State: string;
  Rev: string | number;
  AppliedRev: string | number;
  DocHash: string;
  EffectiveHash: string;
  Reason: string;
  RestartNeeded: string[];
  DebugUntilMs: string | number | null;
  ReportedAtMs: string | number;
}

function fromRow(r: StateRow): NodeConfigState {
  const config: ConfigStatus | undefined = r.State
    ? {
        state: r.State as ConfigStatus['state'],
        rev: Number(r.Rev),
        appliedRev: Number(r.AppliedRev),
        docHash: r.DocHash,
        effectiveHash: r.EffectiveHash,
        ...(r.Reason ? { reason: r.Reason } : {}),
        ...(r.RestartNeeded.length > 0 ? { restartNeeded: r.RestartNeeded } : {}),
        ...(r.DebugUntilMs !== null ? { debugUntil: Number(r.DebugUntilMs) } : {}),
      }
    : undefined;
  return {
    node: r.NodeName,
    online: Number(r.Online) === 1,
    agentVersion: r.AgentVersion,
    labels: r.Labels,
    configVersions: r.ConfigVersions.map(Number),
    config,
    reportedAt: Number(r.ReportedAtMs),
  };
}

export function createFleetConfig(d: FleetConfigDeps): FleetConfig {
  const now = d.now ?? Date.now;
  const codec = createConfigCodec();
  const known = new Map<string, NodeConfigState>();
  /** The revision last sent to each node, so a status repeated meanwhile does not send it again. */
  const sent = new Map<string, number>();
  let cache: { at: number; layers: Promise<Layer[]> } | undefined;
  const rows = createLatestCommit<unknown[]>({
    insert: (r) => insertRows(d.client, 'nodeConfig', r),
    minIntervalMs: 1000,
    // Statuses are retained and sent again on every connect: a lost row comes back.
    onError: (err, n) => d.logger.warn({ rows: n, err: err.message }, 'node configuration rows not stored'),
  });

  const layers = (): Promise<Layer[]> => {
    if (cache === undefined || now() - cache.at > LAYER_CACHE_MS) {
      const p = d.documents.latest();
      cache = { at: now(), layers: p };
      p.catch(() => (cache = undefined));
    }
    return cache.layers;
  };

  async function stored(node?: string): Promise<NodeConfigState[]> {
    const rs = await d.client.query({
      query: `SELECT NodeName, Online, AgentVersion, Labels, ConfigVersions, State, Rev, AppliedRev, DocHash, EffectiveHash,
          Reason, RestartNeeded, toUnixTimestamp64Milli(DebugUntil) AS DebugUntilMs, toUnixTimestamp64Milli(ReportedAt) AS ReportedAtMs
        FROM ${TABLES.nodeConfig} FINAL ${node === undefined ? '' : 'WHERE NodeName = {node:String}'} ORDER BY NodeName`,
      query_params: node === undefined ? {} : { node },
      format: 'JSONEachRow',
    });
    return (await rs.json<StateRow>()).map(fromRow);
  }

  /** What this ingester heard over what is stored (its own news is newer). */
  async function everyNode(): Promise<NodeConfigState[]> {
    const all = new Map((await stored()).map((s) => [s.node, s]));
    for (const [n, s] of known) all.set(n, s);
    return [...all.values()].sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  /** Sends the node its document when it should run a later revision than it reported. */
  function deliver(s: NodeConfigState, all: readonly Layer[]): boolean {
    if (!s.configVersions.includes(CONFIG_DOC_VERSION)) return false;
    const desired = desiredFor(s.node, s.labels, all);
    const reported = s.config?.rev ?? 0;
    if (desired.rev === 0 || desired.rev <= reported || (s.online && sent.get(s.node) === desired.rev)) return false;
    let payload: Buffer;
    try {
      payload = encodeCommand(codec.command(desired.doc, desired.rev, now() + CONFIG_COMMAND_TTL_MS));
    } catch (err) {
      d.logger.error(
        { node: s.node, rev: desired.rev, err: (err as Error).message },
        'configuration command not encoded',
      );
      return false;
    }
    sent.set(s.node, desired.rev);
    d.publish(topics.cmd(s.node), payload).catch((err: Error) => {
      sent.delete(s.node);
      d.logger.warn({ node: s.node, rev: desired.rev, err: err.message }, 'configuration command not published');
    });
    return true;
  }

  return {
    noted(status, receivedAt) {
      const prior = known.get(status.node);
      const s: NodeConfigState = {
        node: status.node,
        online: status.state === 'online',
        agentVersion: status.agentVersion,
        // The last will says only 'offline': what the birth said still holds.
        labels: status.labels ?? (status.state === 'online' ? {} : (prior?.labels ?? {})),
        configVersions: status.capabilities?.config ?? (status.state === 'online' ? [] : (prior?.configVersions ?? [])),
        config: status.config ?? (status.state === 'online' ? undefined : prior?.config),
        reportedAt: receivedAt,
      };
      known.set(status.node, s);
      const c = s.config;
      rows.put(s.node, [
        s.node,
        s.online ? 1 : 0,
        s.agentVersion,
        s.labels,
        s.configVersions,
        c?.state ?? '',
        c?.rev ?? 0,
        c?.appliedRev ?? 0,
        c?.docHash ?? '',
        c?.effectiveHash ?? '',
        c?.reason ?? '',
        c?.restartNeeded ?? [],
        c?.debugUntil ?? null,
        receivedAt,
      ]);
      // A birth (it has capabilities) starts a new session: whatever was sent before may be gone.
      if (status.capabilities) sent.delete(s.node);
      if (!s.online) return;
      layers()
        .then((all) => deliver(s, all))
        .catch((err: Error) => d.logger.warn({ node: s.node, err: err.message }, 'configuration layers not read'));
    },
    async change(scope, target, next, by) {
      const before = (await d.documents.history(scope, target, 1))[0];
      const doc = next(before?.doc);
      const layer = await d.documents.put(scope, target, doc, by);
      cache = undefined;
      const all = await layers();
      let count = 0;
      for (const s of await everyNode()) if (deliver(s, all)) count++;
      return {
        layer,
        previous: before,
        diff: diffOptions(before?.doc?.options ?? {}, doc?.options ?? {}),
        sent: count,
      };
    },
    layers,
    history: (scope, target, limit) => d.documents.history(scope, target, limit),
    async nodes() {
      const all = await layers();
      return (await everyNode()).map((s) => ({ ...s, desiredRev: desiredFor(s.node, s.labels, all).rev }));
    },
    async node(node) {
      const s = known.get(node) ?? (await stored(node))[0];
      if (s === undefined) return undefined;
      return { ...s, desired: desiredFor(node, s.labels, await layers()) };
    },
    drain: () => rows.drain(),
  };
}
