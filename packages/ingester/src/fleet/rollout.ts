/**
 * Staged rollout of a group or fleet change, as pure functions over plain data: the plan (nodes in
 * a stable pseudo-random order, online ones first; a canary share, then waves), which version of
 * the layer a node runs while the rollout is under way (admitted nodes the new one, the others the
 * previous one), and the verdict on a stage from what the nodes report (their configuration status
 * and their health: batches still arriving, drops, budget and degrade level).
 */
import { createHash } from 'node:crypto';
import type { ConfigDocument } from '@edge-telemetry/protocol';
import type { Layer, Scope } from './layers.js';

export type RolloutState = 'running' | 'halted' | 'done' | 'reverted' | 'superseded';

export interface RolloutOptions {
  /** Share of the nodes that get the change first (at least one node). */
  canaryShare: number;
  /** Waves after the canaries. */
  waves: number;
  /** How long each stage's health must hold after its nodes applied the change. */
  holdMs: number;
}

export interface Rollout {
  id: string;
  scope: Scope;
  target: string;
  /** The layer version being rolled out. */
  rev: number;
  /** The version before it (0: none): what nodes not yet admitted keep, and what a failure reverts to. */
  prevRev: number;
  prevDoc: ConfigDocument | undefined;
  /** Every node concerned at the start, in rollout order. */
  nodes: string[];
  /** The first `judged` nodes were online at the start; the others get the change when they come back and are not waited for. */
  judged: number;
  /** Cumulative node counts admitted at each stage (stage 0: the canaries). */
  stages: number[];
  stage: number;
  stageAt: number;
  /** When every judged node of the stage reported it applied (0: not yet): the health hold starts. */
  holdFrom: number;
  holdMs: number;
  state: RolloutState;
  reason: string;
  startedBy: string;
  startedAt: number;
  /** The ingester driving it, and its last heartbeat. */
  owner: string;
  updatedAt: number;
}

export const ACTIVE: ReadonlySet<RolloutState> = new Set(['running', 'halted']);

/** Online nodes first, each group in an order that depends on the rollout id (a different canary set each time). */
export function plan(
  id: string,
  nodes: ReadonlyArray<{ node: string; online: boolean }>,
  o: RolloutOptions,
): Pick<Rollout, 'nodes' | 'judged' | 'stages'> {
  const key = (n: string) => createHash('sha256').update(`${id}\n${n}`).digest('hex');
  const order = (xs: string[]) =>
    xs
      .map((n) => [key(n), n] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([, n]) => n);
  const online = order(nodes.filter((n) => n.online).map((n) => n.node));
  const offline = order(nodes.filter((n) => !n.online).map((n) => n.node));
  const all = [...online, ...offline];
  const stages: number[] = [];
  if (online.length > 0) {
    const canaries = Math.min(online.length, Math.max(1, Math.ceil(o.canaryShare * online.length)));
    stages.push(canaries);
    const rest = online.length - canaries;
    const waves = Math.max(1, Math.min(o.waves, rest));
    for (let w = 1; w <= waves; w++) stages.push(canaries + Math.ceil((rest * w) / waves));
  }
  // The last stage admits everyone, offline nodes included (they take it on reconnect).
  if (stages.length === 0 || stages[stages.length - 1] !== all.length) stages.push(all.length);
  return { nodes: all, judged: online.length, stages: dedupe(stages) };
}

const dedupe = (xs: number[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);

export const admittedCount = (r: Pick<Rollout, 'stages' | 'stage'>): number => r.stages[r.stage] ?? 0;

/**
 * The layers a node runs with the active rollouts taken into account: where a rollout of a layer's
 * latest version has not admitted the node, the node keeps the version before it.
 */
export function layersDuring(
  node: string,
  all: readonly Layer[],
  rollouts: readonly Rollout[],
  admitted: (r: Rollout) => ReadonlySet<string>,
): Layer[] {
  return all.map((l) => {
    const r = rollouts.find(
      (x) => ACTIVE.has(x.state) && x.rev === l.rev && x.scope === l.scope && x.target === l.target,
    );
    if (r === undefined || admitted(r).has(node)) return l;
    return { ...l, rev: r.prevRev, doc: r.prevDoc, docHash: '' };
  });
}

/**
 * What a failed rollout's revert goes back to (the last version rolled out to every node, by the
 * rule above) and the versions of the layer it drops with it: those between, superseded by this
 * change while they were still rolling out. `revs`: the layer's revisions.
 */
export function revertNote(
  r: Pick<Rollout, 'prevRev' | 'rev'>,
  revs: readonly number[],
): { to: string; reason: string } {
  const dropped = revs.filter((v) => v > r.prevRev && v < r.rev).sort((a, b) => a - b);
  const to = `reverted to ${r.prevRev === 0 ? 'no layer' : `revision ${r.prevRev}`}`;
  return {
    to,
    reason:
      `${to}, the last version rolled out to every node` +
      (dropped.length > 0 ? `; superseded revision(s) ${dropped.join(', ')} dropped with it` : ''),
  };
}

/** What a node of the stage says, as the verdict needs it. */
export interface StageNode {
  node: string;
  online: boolean;
  state: 'applying' | 'applied' | 'failed' | undefined;
  rev: number;
  appliedRev: number;
  /** It runs the document it should now (by hash): a later revision of its own says nothing of the rollout's. */
  inSync: boolean;
  reason?: string;
}

/**
 * Drops a configuration asks for, which say nothing of a node's health: a change that raises the
 * log filter's level (`logs.defaults.filter.minLevel=warn`) drops the lines below it by design,
 * and counted as a spike it reverted every such rollout. Throttles and caps stay counted: they
 * are limits a change can push a node into.
 */
export const INTENDED_DROP_STAGES: readonly string[] = ['logs.filter'];

/** Per node, over the hold (and the same span before it, for the error baseline), by the batches' window ends. */
export interface StageHealth {
  node: string;
  /** Batches of windows that ended since the hold started (made after the change). */
  batches: number;
  /** Items dropped during the hold, and during as long a span before it (any stage but INTENDED_DROP_STAGES). */
  dropsDuring: number;
  dropsBefore: number;
  /** Batches that said the daily budget was spent (BudgetLeftBytes 0; -1 is no budget), during the hold and before it. */
  budgetSpentDuring: number;
  budgetSpentBefore: number;
  degradeDuring: number;
  degradeBefore: number;
}

export interface HealthRules {
  /** Drops during the hold above twice those before plus this many are a spike. */
  errorSpikeMin: number;
  /** A stage whose nodes have not all applied after this long fails. */
  applyTimeoutMs: number;
}

export type Verdict =
  { kind: 'wait' } | { kind: 'hold'; from: number } | { kind: 'pass' } | { kind: 'fail'; reason: string };

/** Whether a node runs the rollout's revision (or a later one) and the document it should. */
export const hasApplied = (n: StageNode, rev: number): boolean =>
  n.appliedRev >= rev && n.state === 'applied' && n.inSync;

/** Whether every judged node of the stage applied the change (or one refused it, or time is up). */
export function applyVerdict(r: Rollout, nodes: readonly StageNode[], now: number, rules: HealthRules): Verdict {
  const failed = nodes.find((n) => n.state === 'failed' && n.rev >= r.rev);
  if (failed) return { kind: 'fail', reason: `${failed.node} refused it: ${failed.reason ?? 'failed'}` };
  const missing = nodes.filter((n) => !hasApplied(n, r.rev));
  if (missing.length === 0) return { kind: 'hold', from: now };
  if (now - r.stageAt > rules.applyTimeoutMs)
    return {
      kind: 'fail',
      reason: `${missing.length} node(s) did not apply it within ${rules.applyTimeoutMs} ms (${missing
        .slice(0, 5)
        .map((n) => n.node)
        .join(', ')})`,
    };
  return { kind: 'wait' };
}

/**
 * After the hold: every judged node still online, shipping windows made after the change (wait
 * until each has), no drop spike, no budget overrun or extra degrade.
 */
export function healthVerdict(
  nodes: readonly StageNode[],
  health: readonly StageHealth[],
  rules: HealthRules,
): Verdict {
  const by = new Map(health.map((h) => [h.node, h]));
  for (const n of nodes) {
    const h = by.get(n.node);
    if (!n.online) return { kind: 'fail', reason: `${n.node} went offline after applying it` };
    // Nothing shipped yet is not a failure until the apply timeout: a window seals and travels first.
    if (h === undefined || h.batches === 0) return { kind: 'wait' };
    if (h.dropsDuring > 2 * h.dropsBefore + rules.errorSpikeMin)
      return { kind: 'fail', reason: `${n.node} dropped ${h.dropsDuring} items (before: ${h.dropsBefore})` };
    if (h.budgetSpentDuring > 0 && h.budgetSpentBefore === 0)
      return { kind: 'fail', reason: `${n.node} spent its daily budget` };
    if (h.degradeDuring > h.degradeBefore)
      return { kind: 'fail', reason: `${n.node} degraded to level ${h.degradeDuring} (before: ${h.degradeBefore})` };
  }
  return { kind: 'pass' };
}
