import { describe, expect, it } from 'vitest';
import { createCallGate } from './grpc-call-gate.js';

describe('createCallGate', () => {
  it('lets calls read up to the total and the per-address cap, the rest wait in order of arrival', () => {
    const gate = createCallGate(2, 1);
    const started: string[] = [];
    const a1 = gate.open('a', () => started.push('a1'));
    const a2 = gate.open('a', () => started.push('a2'));
    const b1 = gate.open('b', () => started.push('b1'));
    gate.open('c', () => started.push('c1'));
    expect(started).toEqual(['a1', 'b1']);
    expect(gate.counts()).toEqual({ reading: 2, waiting: 2 });
    // a1 done: a's slot goes to a2 (first in line), not to c1 behind it.
    a1.done();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    expect(a2.reading).toBe(true);
    b1.done();
    b1.done(); // twice (message whole, then the call's end) frees one slot only
    expect(started).toEqual(['a1', 'b1', 'a2', 'c1']);
    expect(gate.counts()).toEqual({ reading: 2, waiting: 0 });
  });

  it('gives up the place in line of a call that ends while waiting', () => {
    const gate = createCallGate(1, 1);
    const started: string[] = [];
    const a = gate.open('a', () => started.push('a'));
    const b = gate.open('b', () => started.push('b'));
    gate.open('c', () => started.push('c'));
    b.done();
    a.done();
    expect(started).toEqual(['a', 'c']);
    expect(gate.counts()).toEqual({ reading: 1, waiting: 0 });
  });
});
