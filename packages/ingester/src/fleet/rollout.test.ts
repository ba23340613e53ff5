import { describe, expect, it } from 'vitest';
import type { Layer } from './layers.js';
import {
  admittedCount,
  applyVerdict,
  healthVerdict,
  layersDuring,
  plan,
  revertNote,
  type Rollout,
  type StageNode,
} from './rollout.js';

const nodes = (n: number, offline = 0) =>
  Array.from({ length: n }, (_, i) => ({ node: `n${String(i).padStart(4, '0')}`, online: i >= offline }));

const rollout = (over: Partial<Rollout> = {}): Rollout => ({
  id: 'r1',
  scope: 'fleet',
  target: '',
  rev: 20,
  prevRev: 10,
  prevDoc: { options: { a: 1 } },
  nodes: ['x', 'y', 'z'],
  judged: 3,
  stages: [1, 3],
  stage: 0,
  stageAt: 1000,
  holdFrom: 0,
  holdMs: 500,
  state: 'running',
  reason: '',
  startedBy: 'admin',
  startedAt: 1000,
  owner: 'i1',
  updatedAt: 1000,
  ...over,
});
const rules = { errorSpikeMin: 10, applyTimeoutMs: 5000 };
const applied = (node: string, rev = 20): StageNode => ({
  node,
  online: true,
  state: 'applied',
  rev,
  appliedRev: rev,
  inSync: true,
});

describe('plan', () => {
  it('canary 5 % of the online nodes, then 3 waves; offline nodes last, admitted only at the end', () => {
    const p = plan('r1', nodes(1000, 100), { canaryShare: 0.05, waves: 3, holdMs: 0 });
    expect(p.judged).toBe(900);
    expect(p.stages).toEqual([45, 330, 615, 900, 1000]);
    expect(new Set(p.nodes).size).toBe(1000);
    expect(p.nodes.slice(900).every((n) => Number(n.slice(1)) < 100)).toBe(true);
  });
  it('at least one canary, no empty waves, a different order for another rollout', () => {
    expect(plan('r1', nodes(2), { canaryShare: 0.05, waves: 3, holdMs: 0 }).stages).toEqual([1, 2]);
    expect(plan('r1', nodes(1), { canaryShare: 0.05, waves: 3, holdMs: 0 }).stages).toEqual([1]);
    expect(plan('r1', nodes(3, 3), { canaryShare: 0.05, waves: 3, holdMs: 0 }).stages).toEqual([3]);
    expect(plan('r1', nodes(50), { canaryShare: 0.1, waves: 3, holdMs: 0 }).nodes).not.toEqual(
      plan('r2', nodes(50), { canaryShare: 0.1, waves: 3, holdMs: 0 }).nodes,
    );
  });
});

describe('layersDuring', () => {
  const latest: Layer = {
    scope: 'fleet',
    target: '',
    rev: 20,
    doc: { options: { a: 2 } },
    docHash: 'h',
    createdBy: 'a',
    createdAt: 0,
  };
  const r = rollout();
  const admitted = (x: Rollout) => new Set(x.nodes.slice(0, admittedCount(x)));
  it('admitted nodes run the new version, the others keep the previous one', () => {
    expect(layersDuring('x', [latest], [r], admitted)[0]?.doc).toEqual({ options: { a: 2 } });
    expect(layersDuring('y', [latest], [r], admitted)[0]).toMatchObject({ rev: 10, doc: { options: { a: 1 } } });
  });
  it('a finished rollout, or one of another version, changes nothing', () => {
    expect(layersDuring('y', [latest], [rollout({ state: 'done' })], admitted)[0]?.rev).toBe(20);
    expect(layersDuring('y', [latest], [rollout({ rev: 19 })], admitted)[0]?.rev).toBe(20);
  });
  it('a halted rollout keeps the nodes not admitted on the previous version', () => {
    expect(layersDuring('z', [latest], [rollout({ state: 'halted' })], admitted)[0]?.rev).toBe(10);
  });
});

describe('revertNote', () => {
  it('says the version gone back to and the superseded ones dropped with it', () => {
    expect(revertNote({ prevRev: 10, rev: 30 }, [30, 25, 20, 10, 5])).toEqual({
      to: 'reverted to revision 10',
      reason:
        'reverted to revision 10, the last version rolled out to every node; superseded revision(s) 20, 25 dropped with it',
    });
    expect(revertNote({ prevRev: 0, rev: 30 }, [30]).reason).toBe(
      'reverted to no layer, the last version rolled out to every node',
    );
  });
});

describe('verdicts', () => {
  it('waits for every judged node to apply, fails on a refusal or after the timeout', () => {
    const r = rollout();
    expect(applyVerdict(r, [{ ...applied('x'), state: 'applying', appliedRev: 10 }], 2000, rules).kind).toBe('wait');
    expect(applyVerdict(r, [applied('x')], 2000, rules)).toEqual({ kind: 'hold', from: 2000 });
    expect(
      applyVerdict(r, [{ ...applied('x'), state: 'failed', appliedRev: 10, reason: 'logs.x: bad' }], 2000, rules),
    ).toEqual({ kind: 'fail', reason: 'x refused it: logs.x: bad' });
    expect(applyVerdict(r, [{ ...applied('x'), state: 'applying', appliedRev: 10 }], 7000, rules).kind).toBe('fail');
    // A later revision of the node's own that is not the document it should run now (issue 20): not applied yet.
    expect(applyVerdict(r, [{ ...applied('x', 30), inSync: false }], 2000, rules).kind).toBe('wait');
    // A failure of an older revision is not this rollout's.
    expect(applyVerdict(r, [{ ...applied('x', 15), state: 'failed' }], 2000, rules).kind).toBe('wait');
  });
  it('health: online, shipping, no drop spike, no overrun, no extra degrade', () => {
    const h = {
      node: 'x',
      batches: 3,
      dropsDuring: 5,
      dropsBefore: 5,
      budgetSpentDuring: 0,
      budgetSpentBefore: 0,
      degradeDuring: 1,
      degradeBefore: 1,
    };
    expect(healthVerdict([applied('x')], [h], rules).kind).toBe('pass');
    expect(healthVerdict([{ ...applied('x'), online: false }], [h], rules).kind).toBe('fail');
    // Nothing shipped since yet: wait (the driver fails the stage at the apply timeout).
    expect(healthVerdict([applied('x')], [{ ...h, batches: 0 }], rules).kind).toBe('wait');
    expect(healthVerdict([applied('x')], [], rules).kind).toBe('wait');
    expect(healthVerdict([applied('x')], [{ ...h, dropsDuring: 21 }], rules).kind).toBe('fail');
    expect(healthVerdict([applied('x')], [{ ...h, dropsDuring: 20 }], rules).kind).toBe('pass');
    expect(healthVerdict([applied('x')], [{ ...h, budgetSpentDuring: 2 }], rules).kind).toBe('fail');
    // Spent before the change already: not the change's doing.
    expect(healthVerdict([applied('x')], [{ ...h, budgetSpentDuring: 2, budgetSpentBefore: 1 }], rules).kind).toBe(
      'pass',
    );
    expect(healthVerdict([applied('x')], [{ ...h, degradeDuring: 2 }], rules).kind).toBe('fail');
  });
});
