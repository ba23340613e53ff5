/**
 * Drives the running rollouts, one step per tick: a stage waits until every node it admitted (of
 * those online at the start) reported `applied`, then holds for the rollout's hold time, then its
 * health is judged (fleet/rollout.ts); a pass admits the next wave, a failure halts the rollout and
 * reverts the layer (a new version equal to the previous one, so every node, canaries included,
 * is sent it with a higher revision).
 *
 * Ingesters are scaled out, so one ingester drives each rollout, as with log pulls
 * (pull/coordinator.ts): the owner writes the rollout's row at least every third of `leaseMs`
 * (its heartbeat); another ingester takes it over when the row is older than `leaseMs` (the owner
 * died or stopped). Every step is re-read from ClickHouse first, so a restarted ingester, or the
 * one that took over, continues from the stage reached; two owners for a moment at worst judge
 * the same stage twice.
 */
import type { Logger } from '../logger.js';
import type { NodeConfigState } from './service.js';
import {
  admittedCount,
  applyVerdict,
  healthVerdict,
  hasApplied,
  type HealthRules,
  type Rollout,
  type StageNode,
  type Verdict,
} from './rollout.js';
import type { RolloutStore } from './rollout-store.js';

export interface RolloutDriverDeps {
  store: RolloutStore;
  ingesterId: string;
  leaseMs: number;
  rules: HealthRules;
  logger: Logger;
  /** Every node, and whether it runs the document it should (fleet/delivery.ts). */
  nodes(): Promise<Array<NodeConfigState & { inSync: boolean }>>;
  /** The revision of a layer's latest version (0: none). */
  latestRev(r: Rollout): Promise<number>;
  /** Stores the previous version again as the layer's latest (the revert); resolves with what it went back to and dropped. */
  revert(r: Rollout): Promise<string>;
  /**
   * A rollout admitted more nodes or ended: the nodes (as read for this tick: the node table is
   * read once a tick) are sent what they should now run.
   */
  changed(nodes: NodeConfigState[]): Promise<void>;
  /** Sends these nodes what they should run again, even if it was sent (commands are idempotent). */
  resend(nodes: NodeConfigState[]): Promise<void>;
  now: () => number;
}

export interface RolloutDriver {
  /** One step of every running rollout this ingester owns or takes over. */
  tick(): Promise<void>;
}

const stageNode = (node: string, s: (NodeConfigState & { inSync: boolean }) | undefined): StageNode => ({
  node,
  online: s?.online ?? false,
  inSync: s?.inSync ?? false,
  state: s?.config?.state,
  rev: s?.config?.rev ?? 0,
  appliedRev: s?.config?.appliedRev ?? 0,
  ...(s?.config?.reason ? { reason: s.config.reason } : {}),
});

/** A stage's node that has not applied the change this long after it was sent is sent it again (a lost command). */
export const RESEND_AFTER_MS = 15_000;

export function createRolloutDriver(d: RolloutDriverDeps): RolloutDriver {
  let busy = false;
  /** When each rollout's stage last had its laggards sent the command again. */
  const resentAt = new Map<string, number>();

  async function judge(r: Rollout, states: Map<string, NodeConfigState & { inSync: boolean }>): Promise<Verdict> {
    const now = d.now();
    const judged = r.nodes.slice(0, Math.min(admittedCount(r), r.judged)).map((n) => stageNode(n, states.get(n)));
    if (r.holdFrom === 0) {
      const v = applyVerdict(r, judged, now, d.rules);
      if (v.kind === 'wait') {
        const last = Math.max(r.stageAt, resentAt.get(r.id) ?? 0);
        if (now - last >= RESEND_AFTER_MS) {
          resentAt.set(r.id, now);
          await d.resend(judged.flatMap((n) => (hasApplied(n, r.rev) ? [] : (states.get(n.node) ?? []))));
        }
      }
      if (v.kind !== 'hold') return v;
      r.holdFrom = v.from;
    }
    if (now - r.holdFrom < r.holdMs) return { kind: 'wait' };
    if (r.holdMs === 0) return { kind: 'pass' };
    const v = healthVerdict(
      judged,
      await d.store.health(
        judged.map((n) => n.node),
        r.holdFrom,
        r.holdMs,
      ),
      d.rules,
    );
    if (v.kind === 'wait' && now - r.holdFrom > d.rules.applyTimeoutMs)
      return { kind: 'fail', reason: `a node shipped nothing within ${d.rules.applyTimeoutMs} ms of applying it` };
    return v;
  }

  async function step(r: Rollout, states: Map<string, NodeConfigState & { inSync: boolean }>): Promise<boolean> {
    // What a step can change without moving the rollout: the start of its stage's hold.
    const holdFrom = r.holdFrom;
    const now = d.now();
    const taken = r.owner !== d.ingesterId;
    if (taken) d.logger.info({ rollout: r.id, from: r.owner }, 'rollout taken over');
    r.owner = d.ingesterId;
    let moved = false;
    const latestRev = await d.latestRev(r);
    // The rollout row is stored before its layer version: until the layer is there (a revision
    // below the rollout's), the change is not superseded but not stored yet. Judged superseded
    // then, it would leave the layer without a rollout and reach every node at once. A layer that
    // never comes (its write failed) gives the rollout up after the apply timeout.
    const notStoredYet = latestRev < r.rev && now - r.startedAt < d.rules.applyTimeoutMs;
    if (latestRev !== r.rev && !notStoredYet) {
      // Another change to the layer replaced it (its own rollout, or a revert that was stored before this row).
      r.state = 'superseded';
      moved = true;
    } else if (latestRev === r.rev) {
      const v = await judge(r, states);
      if (v.kind === 'pass') {
        if (r.stage < r.stages.length - 1) {
          r.stage++;
          r.stageAt = now;
          r.holdFrom = 0;
        } else r.state = 'done';
        moved = true;
        d.logger.info({ rollout: r.id, stage: r.stage, state: r.state }, 'rollout advanced');
      } else if (v.kind === 'fail') {
        // Halted first (no other ingester drives a halted rollout, and it keeps the nodes not admitted
        // on the previous version), then the revert stored, then the row says reverted: a failure in
        // between leaves it halted, never the bad version free to reach everyone.
        r.state = 'halted';
        r.reason = v.reason;
        r.updatedAt = Math.max(now, r.updatedAt + 1);
        await d.store.save(r);
        r.reason = `${v.reason}; ${await d.revert(r)}`;
        r.state = 'reverted';
        moved = true;
        d.logger.warn({ rollout: r.id, stage: r.stage, reason: v.reason }, 'rollout halted and reverted');
      }
    }
    if (moved || taken || r.holdFrom !== holdFrom || now - r.updatedAt >= d.leaseMs / 3) {
      // Someone (an admin's halt through another ingester) wrote the row since it was read: theirs stands.
      const latest = await d.store.get(r.id);
      if (latest !== undefined && latest.updatedAt > r.updatedAt && latest.state !== r.state && !moved) return false;
      r.updatedAt = Math.max(now, r.updatedAt + 1);
      await d.store.save(r);
    }
    return moved;
  }

  return {
    async tick() {
      if (busy) return;
      busy = true;
      try {
        const now = d.now();
        const running = (await d.store.active()).filter(
          (r) => r.state === 'running' && (r.owner === d.ingesterId || now - r.updatedAt >= d.leaseMs),
        );
        if (running.length === 0) return;
        const states = new Map((await d.nodes()).map((s) => [s.node, s]));
        let moved = false;
        for (const r of running) if (await step(r, states)) moved = true;
        if (moved) await d.changed([...states.values()]);
      } catch (err) {
        d.logger.warn({ err: (err as Error).message }, 'rollout step failed');
      } finally {
        busy = false;
      }
    },
  };
}
