/**
 * Fleet control at the center: keeps what each node says of its configuration (status messages:
 * labels, versions, applying / applied / failed), and sends each node its merged document in a
 * `config` command whenever the document it should run is not the one it reported (by hash, at a
 * revision above the node's: fleet/delivery.ts): after a change that concerns it (online or not:
 * its persistent session queues the command), when a rollout admits it, and when it comes back
 * (its birth message), so a node that was offline longer than a command's expiry still gets the
 * latest document, never an older one; and again to a node it waits on (last heard applying, or a
 * rollout stage's laggard), in case its status was lost. Nodes that do not list CONFIG_DOC_VERSION
 * in their capabilities are sent nothing.
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
import type { AuditLog } from '../auth/audit-log.js';
import { IngesterError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createLatestCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';
import { randomBytes } from 'node:crypto';
import type { ConfigDocuments } from './documents.js';
import { inSync, revisionToResend, revisionToSend } from './delivery.js';
import { desiredFor, diffOptions, layersFor, type Desired, type DiffEntry, type Layer, type Scope } from './layers.js';
import {
  admittedCount,
  layersDuring,
  plan,
  revertNote,
  type HealthRules,
  type Rollout,
  type RolloutOptions,
} from './rollout.js';
import { createRolloutDriver, RESEND_AFTER_MS } from './rollout-driver.js';
import type { RolloutStore } from './rollout-store.js';

/** A command waits this long in a node's session; a node back later gets the latest on its birth instead. */
export const CONFIG_COMMAND_TTL_MS = 3_600_000;
/** Layers and rollouts are read again after this long (another ingester may have changed them). */
const LAYER_CACHE_MS = 1000;

/** Rollout defaults (the issue's: canary 5 %, 3 waves) and how a stage is judged. */
export const ROLLOUT_DEFAULTS: RolloutOptions = { canaryShare: 0.05, waves: 3, holdMs: 300_000 };
export interface FleetRolloutOptions {
  defaults: RolloutOptions;
  rules: HealthRules;
  /** How often running rollouts are stepped. */
  tickMs: number;
  /** A rollout whose owner wrote nothing for this long is taken over by another ingester. */
  leaseMs: number;
}
export const FLEET_ROLLOUT_OPTIONS: FleetRolloutOptions = {
  defaults: ROLLOUT_DEFAULTS,
  rules: { errorSpikeMin: 100, applyTimeoutMs: 600_000 },
  tickMs: 2000,
  leaseMs: 30_000,
};

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
  /** Nodes sent the new revision now (the others get it when they come back, or in a later wave). */
  sent: number;
  /** The staged rollout it started (group and fleet changes unless sent at once). */
  rollout?: Rollout;
  /** Rollouts of the layer still under way that it replaced (a failure of this one reverts past them). */
  superseded: Rollout[];
}

export interface FleetConfig {
  /** A node's status message (router): remembered, its row queued, the node sent what it lacks. */
  noted(status: StatusMessage, receivedAt: number): void;
  /**
   * A new version of one layer from what it was (undefined: none yet or removed); resolves after
   * sending. A group or fleet change is rolled out in stages (`rollout`, defaults
   * ROLLOUT_DEFAULTS) unless `rollout` is false; a node's own layer is sent at once.
   */
  change(
    scope: Scope,
    target: string,
    next: (previous: ConfigDocument | undefined) => ConfigDocument | undefined,
    by: string,
    rollout?: Partial<RolloutOptions> | false,
  ): Promise<ChangeResult>;
  /** The latest rollouts, newest first. */
  rollouts(limit: number): Promise<Rollout[]>;
  rollout(id: string): Promise<Rollout | undefined>;
  /** Stops admitting nodes (those admitted keep the change) / admits again from the stage reached. */
  halt(id: string): Promise<Rollout>;
  resume(id: string): Promise<Rollout>;
  /** Steps the running rollouts every tickMs until close(). */
  start(): void;
  close(): void;
  layers(): Promise<Layer[]>;
  history(scope: Scope, target: string, limit: number): Promise<Layer[]>;
  /** Every node heard of, with what it should run and whether it runs it. */
  nodes(): Promise<Array<NodeConfigState & { desiredRev: number; inSync: boolean }>>;
  /** One node's state and merged document; undefined when never heard of. */
  node(node: string): Promise<(NodeConfigState & { desired: Desired; inSync: boolean }) | undefined>;
  drain(): Promise<void>;
}

export interface FleetConfigDeps {
  client: ClickHouseClient;
  documents: ConfigDocuments;
  rollouts: RolloutStore;
  /** This ingester's id: the owner of the rollouts it drives. */
  ingesterId: string;
  rolloutOptions?: FleetRolloutOptions;
  logger: Logger;
  /** An automatic revert is audited, as the system's own change to a layer. */
  audit: Pick<AuditLog, 'record'>;
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
  /** The document (hash) last sent to each node, so a status repeated meanwhile does not send it again. */
  const sent = new Map<string, string>();
  const ro = d.rolloutOptions ?? FLEET_ROLLOUT_OPTIONS;
  let cache: { at: number; view: Promise<View> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Admitted node sets by rollout id and stage (a rollout's node list is fixed at its start). */
  const admittedSets = new Map<string, { stage: number; set: Set<string> }>();
  const rows = createLatestCommit<unknown[]>({
    insert: (r) => insertRows(d.client, 'nodeConfig', r),
    minIntervalMs: 1000,
    // Statuses are retained and sent again on every connect: a lost row comes back.
    onError: (err, n) => d.logger.warn({ rows: n, err: err.message }, 'node configuration rows not stored'),
  });

  interface View {
    layers: Layer[];
    rollouts: Rollout[];
    /** When the read began. */
    at: number;
  }
  const view = (): Promise<View> => {
    if (cache === undefined || now() - cache.at > LAYER_CACHE_MS) {
      // Rollouts first: a layer version under rollout is stored after its rollout row, so it is never seen without it.
      const at = now();
      const p = d.rollouts.active().then(async (rollouts) => ({ rollouts, layers: await d.documents.latest(), at }));
      cache = { at: now(), view: p };
      p.catch(() => (cache = undefined));
    }
    return cache.view;
  };
  const layers = async (): Promise<Layer[]> => (await view()).layers;

  const admitted = (r: Rollout): ReadonlySet<string> => {
    const a = admittedSets.get(r.id);
    if (a !== undefined && a.stage === r.stage) return a.set;
    const set = new Set(r.nodes.slice(0, admittedCount(r)));
    admittedSets.set(r.id, { stage: r.stage, set });
    for (const id of admittedSets.keys()) if (admittedSets.size > 64 && id !== r.id) admittedSets.delete(id);
    return set;
  };
  const desired = (node: string, labels: Readonly<Record<string, string>>, v: View): Desired =>
    desiredFor(node, labels, v.rollouts.length === 0 ? v.layers : layersDuring(node, v.layers, v.rollouts, admitted));

  /** The stored states (their latest rows: WHERE applies after FINAL), those `where` selects. */
  async function stored(where = '', params: Record<string, unknown> = {}): Promise<NodeConfigState[]> {
    const rs = await d.client.query({
      query: `SELECT NodeName, Online, AgentVersion, Labels, ConfigVersions, State, Rev, AppliedRev, DocHash, EffectiveHash,
          Reason, RestartNeeded, toUnixTimestamp64Milli(DebugUntil) AS DebugUntilMs, toUnixTimestamp64Milli(ReportedAt) AS ReportedAtMs
        FROM ${TABLES.nodeConfig} FINAL ${where === '' ? '' : `WHERE ${where}`} ORDER BY NodeName`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await rs.json<StateRow>()).map(fromRow);
  }

  /**
   * The newer of what this ingester heard and what is stored, per node: on a shared subscription a
   * node's statuses reach any of the ingesters, so another one may have heard later news.
   */
  const newer = (a: NodeConfigState | undefined, b: NodeConfigState | undefined) =>
    a === undefined || (b !== undefined && b.reportedAt > a.reportedAt) ? b : a;
  async function everyNode(): Promise<NodeConfigState[]> {
    const all = new Map((await stored()).map((s) => [s.node, s]));
    for (const [n, s] of known) all.set(n, newer(all.get(n), s) as NodeConfigState);
    return [...all.values()].sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  /**
   * Sends the node its document when it does not run the one it should (fleet/delivery.ts);
   * `again`: a node the center waits on (a laggard of a rollout stage, or one last heard applying),
   * sent it even when the center last heard it applying.
   */
  function deliver(s: NodeConfigState, v: View, again = false): boolean {
    if (!s.configVersions.includes(CONFIG_DOC_VERSION)) return false;
    const want = desired(s.node, s.labels, v);
    const rev = (again ? revisionToResend : revisionToSend)(want, s.config, now());
    if (rev === undefined || (s.online && sent.get(s.node) === want.hash)) return false;
    // Above the layers' revision the node may only be ahead of this cached view (another ingester
    // admitted it to a rollout a moment ago): decided again on a view read after its status.
    if (rev !== want.rev && v.at <= s.reportedAt) {
      cache = undefined;
      view()
        .then((fresh) => fresh.at > s.reportedAt && deliver(s, fresh))
        .catch((err: Error) => d.logger.warn({ node: s.node, err: err.message }, 'configuration layers not read'));
      return false;
    }
    let payload: Buffer;
    try {
      payload = encodeCommand(codec.command(want.doc, rev, now() + CONFIG_COMMAND_TTL_MS));
    } catch (err) {
      d.logger.error({ node: s.node, rev, err: (err as Error).message }, 'configuration command not encoded');
      return false;
    }
    sent.set(s.node, want.hash);
    d.publish(topics.cmd(s.node), payload).catch((err: Error) => {
      sent.delete(s.node);
      d.logger.warn({ node: s.node, rev, err: err.message }, 'configuration command not published');
    });
    return true;
  }

  /** Sends these nodes what they lack (every node, after a change or a rollout's step); how many were sent. */
  async function deliverTo(states: NodeConfigState[]): Promise<number> {
    const v = await view();
    let count = 0;
    for (const s of states) if (deliver(s, v)) count++;
    return count;
  }

  async function setState(id: string, from: Rollout['state'], to: Rollout['state']): Promise<Rollout> {
    const r = await d.rollouts.get(id);
    if (r === undefined) throw new IngesterError('ET_ERR_NOT_FOUND', `no rollout ${id}`);
    if (r.state !== from) throw new IngesterError('ET_ERR_BAD_REQUEST', `rollout ${id} is ${r.state}, not ${from}`);
    // Resumed: the stage is judged again from now (the hold starts over once its nodes applied).
    const next: Rollout = { ...r, state: to, ...(to === 'running' ? { stageAt: now(), holdFrom: 0 } : {}) };
    next.updatedAt = Math.max(now(), r.updatedAt + 1);
    await d.rollouts.save(next);
    cache = undefined;
    return next;
  }

  const driver = createRolloutDriver({
    store: d.rollouts,
    ingesterId: d.ingesterId,
    leaseMs: ro.leaseMs,
    rules: ro.rules,
    logger: d.logger,
    nodes: async () => {
      const v = await view();
      return (await everyNode()).map((s) => ({ ...s, inSync: inSync(desired(s.node, s.labels, v), s.config) }));
    },
    latestRev: async (r) => (await d.documents.history(r.scope, r.target, 1))[0]?.rev ?? 0,
    revert: async (r) => {
      const note = revertNote(
        r,
        (await d.documents.history(r.scope, r.target, 100)).map((l) => l.rev),
      );
      await d.documents.put(r.scope, r.target, r.prevDoc, `rollout ${r.id} (${note.to})`);
      // r.reason is why the stage failed; the revert stands whether or not its audit row is written.
      await d.audit
        .record({
          actor: undefined,
          action: 'config.rollout_revert',
          outcome: 'ok',
          reason: `${r.reason}; ${note.reason}`,
          detail: { rollout: r.id, scope: r.scope, target: r.target, rev: r.rev, to: r.prevRev },
        })
        .catch((err: Error) => d.logger.warn({ rollout: r.id, err: err.message }, 'rollout revert not audited'));
      return note.reason;
    },
    changed: async (states) => {
      cache = undefined;
      await deliverTo(states);
    },
    resend: async (states) => {
      const v = await view();
      for (const s of states) {
        sent.delete(s.node);
        if (deliver(s, v, true))
          d.logger.info({ node: s.node }, 'configuration sent again to a node of a rollout stage');
      }
    },
    now,
  });

  /**
   * A status can be lost for good: the ingester that received it died before storing it, and a
   * shared subscription gives it to no other one. A node last heard `applying` that long ago is sent
   * its document again, which at or below the revision it took only makes it answer with its status.
   */
  let askedAt = 0;
  async function askApplying(): Promise<void> {
    if (now() - askedAt < RESEND_AFTER_MS) return;
    askedAt = now();
    const before = now() - RESEND_AFTER_MS;
    const waiting = (s: NodeConfigState | undefined): s is NodeConfigState =>
      s !== undefined && s.online && s.config?.state === 'applying' && s.reportedAt <= before;
    // Only those rows, not the whole table; and the stored rows of those heard here, which another
    // ingester may have newer news of.
    const heard = [...known.values()].filter(waiting).map((s) => s.node);
    const rows = await stored(
      `(State = 'applying' AND Online = 1 AND toUnixTimestamp64Milli(ReportedAt) <= {before:Int64}) OR has({heard:Array(String)}, NodeName)`,
      { before, heard },
    );
    const all = new Map(rows.map((s) => [s.node, s]));
    const v = await view();
    for (const node of new Set([...all.keys(), ...heard])) {
      const s = newer(all.get(node), known.get(node));
      if (!waiting(s)) continue;
      sent.delete(node);
      if (deliver(s, v, true)) d.logger.info({ node }, 'node last heard applying asked for its status');
    }
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
      view()
        .then((v) => deliver(s, v))
        .catch((err: Error) => d.logger.warn({ node: s.node, err: err.message }, 'configuration layers not read'));
    },
    async change(scope, target, next, by, rolloutOptions) {
      const before = (await d.documents.history(scope, target, 1))[0];
      const doc = next(before?.doc);
      const rev = await d.documents.nextRev();
      const active = (await d.rollouts.active()).filter((r) => r.scope === scope && r.target === target);
      let rollout: Rollout | undefined;
      if (scope !== 'node' && rolloutOptions !== false) {
        const o = { ...ro.defaults, ...rolloutOptions };
        const at = now();
        const concerned = (await everyNode()).filter(
          (s) =>
            s.configVersions.includes(CONFIG_DOC_VERSION) &&
            layersFor(s.node, s.labels, [{ scope, target } as Layer]).length > 0,
        );
        // A change over one still rolling out starts from what the nodes not yet admitted run: the last version rolled out.
        const base = active[0] ?? { prevRev: before?.rev ?? 0, prevDoc: before?.doc };
        const id = randomBytes(8).toString('hex');
        rollout = {
          id,
          scope,
          target,
          rev,
          prevRev: base.prevRev,
          prevDoc: base.prevDoc,
          ...plan(id, concerned, o),
          stage: 0,
          stageAt: at,
          holdFrom: 0,
          holdMs: o.holdMs,
          state: 'running',
          reason: '',
          startedBy: by,
          startedAt: at,
          owner: d.ingesterId,
          updatedAt: at,
        };
        await d.rollouts.save(rollout);
      }
      for (const r of active)
        await d.rollouts.save({ ...r, state: 'superseded', updatedAt: Math.max(now(), r.updatedAt + 1) });
      const layer = await d.documents.put(scope, target, doc, by, rev);
      cache = undefined;
      const count = await deliverTo(await everyNode());
      return {
        layer,
        previous: before,
        diff: diffOptions(before?.doc?.options ?? {}, doc?.options ?? {}),
        sent: count,
        ...(rollout ? { rollout } : {}),
        superseded: active,
      };
    },
    rollouts: (limit) => d.rollouts.recent(limit),
    rollout: (id) => d.rollouts.get(id),
    halt: (id) => setState(id, 'running', 'halted'),
    resume: (id) => setState(id, 'halted', 'running'),
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        void driver.tick();
        askApplying().catch((err: Error) => d.logger.warn({ err: err.message }, 'nodes last heard applying not read'));
      }, ro.tickMs);
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
    layers,
    history: (scope, target, limit) => d.documents.history(scope, target, limit),
    async nodes() {
      const v = await view();
      return (await everyNode()).map((s) => {
        const want = desired(s.node, s.labels, v);
        return { ...s, desiredRev: want.rev, inSync: inSync(want, s.config) };
      });
    },
    async node(node) {
      const s = newer((await stored('NodeName = {node:String}', { node }))[0], known.get(node));
      if (s === undefined) return undefined;
      const want = desired(node, s.labels, await view());
      return { ...s, desired: want, inSync: inSync(want, s.config) };
    },
    drain: () => rows.drain(),
  };
}
