import { describe, expect, it } from 'vitest';
import { configHash, createConfigCodec, type ConfigDocument, type ConfigStatus } from '@edge-telemetry/protocol';
import { inSync, revisionToResend, revisionToSend } from './delivery.js';
import { desiredFor, type Layer } from './layers.js';
import { admittedCount, layersDuring, type Rollout } from './rollout.js';

const layer = (scope: Layer['scope'], target: string, rev: number, doc: ConfigDocument | undefined): Layer => ({
  scope,
  target,
  rev,
  doc,
  docHash: doc ? configHash(doc) : '',
  createdBy: 'test',
  createdAt: 0,
});
const level = (minLevel: string) => ({ logs: { defaults: { filter: { minLevel } } } });
const debug = { id: 'd1', until: 9e12, forMs: 60_000, extraBytes: 1000, level: 'debug' as const, containers: [] };

/** A fleet rollout of revision 20 (from 10) over nodes a, b: the canary a, then b. */
const rollout = (stage: number): Rollout => ({
  id: 'r1',
  scope: 'fleet',
  target: '',
  rev: 20,
  prevRev: 10,
  prevDoc: { options: level('info') },
  nodes: ['a', 'b'],
  judged: 2,
  stages: [1, 2],
  stage,
  stageAt: 0,
  holdFrom: 0,
  holdMs: 0,
  state: 'running',
  reason: '',
  startedBy: 'admin',
  startedAt: 0,
  owner: 'i1',
  updatedAt: 0,
});
const admitted = (r: Rollout) => new Set(r.nodes.slice(0, admittedCount(r)));
const desiredAt = (stage: number, all: Layer[]) =>
  desiredFor('b', {}, layersDuring('b', all, [rollout(stage)], admitted));
/** What a node says after applying `doc` as revision `rev` (the hash the codec puts in the command). */
const appliedStatus = (rev: number, doc: ConfigDocument): ConfigStatus => ({
  state: 'applied',
  rev,
  appliedRev: rev,
  docHash: configHash(doc),
  effectiveHash: 'e',
});

describe('delivery', () => {
  // Issue 20: a node given its own layer (a debug) during a rollout, at a revision above the
  // rollout's, then admitted: its document changes but no layer's revision goes up.
  const all = [layer('fleet', '', 20, { options: level('debug') }), layer('node', 'b', 30, { options: {}, debug })];

  it('sends a node admitted to a rollout after its own layer changed, at a revision above the one it reported', () => {
    const before = desiredAt(0, all);
    expect(before.doc).toEqual({ options: level('info'), debug });
    const node = appliedStatus(30, before.doc);
    expect(inSync(before, node)).toBe(true);
    expect(revisionToSend(before, node, 1000)).toBeUndefined();

    const after = desiredAt(1, all);
    expect(after.doc).toEqual({ options: level('debug'), debug });
    expect(after.rev).toBe(30);
    expect(inSync(after, node)).toBe(false);
    const rev = revisionToSend(after, node, 1000);
    expect(rev).toBeGreaterThan(30);
    // Once the node applied it, nothing more is sent (idempotent) and it is in sync.
    const done = appliedStatus(rev as number, after.doc);
    expect(inSync(after, done)).toBe(true);
    expect(revisionToSend(after, done, 2000)).toBeUndefined();
  });

  it('compares the hash the command carries: what the node reports as its docHash', () => {
    const want = desiredAt(1, all);
    expect(createConfigCodec().command(want.doc, 31, 9e12).hash).toBe(want.hash);
  });

  it('never sends again a revision the node refused or reverted, until another change', () => {
    const want = desiredAt(1, all);
    const reverted: ConfigStatus = { ...appliedStatus(30, want.doc), state: 'failed', rev: 31, docHash: 'older' };
    expect(inSync(want, reverted)).toBe(false);
    expect(revisionToSend(want, reverted, 1000)).toBeUndefined();
    expect(revisionToSend(want, { ...reverted, state: 'applying' }, 1000)).toBeUndefined();
    const next = desiredAt(1, [...all, layer('node', 'b', 40, { options: level('warn') })]);
    expect(revisionToSend(next, reverted, 1000)).toBe(40);
  });

  it('sends a document the node lacks above a revision it already saw, at least at the clock', () => {
    const want = desiredAt(1, all);
    // A change whose revision the node already saw (another document under it): sent again above it.
    expect(revisionToSend(want, appliedStatus(35, { options: {} }), 1000)).toBe(1000);
    expect(revisionToSend(want, appliedStatus(5000, { options: {} }), 1000)).toBe(5001);
    // Nothing concerns the node: nothing sent; in sync when it applied nothing either.
    const none = desiredFor('b', {}, []);
    expect(revisionToSend(none, undefined, 1000)).toBeUndefined();
    expect(inSync(none, undefined)).toBe(true);
    expect(inSync(none, appliedStatus(3, { options: {} }))).toBe(false);
  });

  it('asks a laggard of a rollout stage for its status when the center last heard it applying', () => {
    const want = desiredAt(1, all);
    // Its `applied` went to an ingester that died before storing it: the center still has `applying`.
    const applying: ConfigStatus = { state: 'applying', rev: 30, appliedRev: 10, docHash: 'older', effectiveHash: 'e' };
    expect(revisionToSend(want, applying, 1000)).toBeUndefined();
    // At the layers' revision, at or below what the node took: it answers with its status, applies nothing.
    expect(revisionToResend(want, applying, 1000)).toBe(30);
    // Otherwise as a first send: what it lacks, above what it saw; nothing when in sync or nothing concerns it.
    expect(revisionToResend(want, appliedStatus(35, { options: {} }), 1000)).toBe(1000);
    expect(revisionToResend(want, appliedStatus(30, want.doc), 1000)).toBeUndefined();
    expect(revisionToResend(desiredFor('b', {}, []), applying, 1000)).toBeUndefined();
  });
});
