import { describe, expect, it } from 'vitest';
import { createSharedReads } from './shared-reads.js';

describe('shared reads', () => {
  it('answers with the same read within reuseMs of it, then not', () => {
    const reads = createSharedReads<string>({ reuseMs: 500, max: 10 });
    reads.set('a', 1000, 'read at 1000');
    expect(reads.get('a', 1000)).toBe('read at 1000');
    expect(reads.get('a', 1499)).toBe('read at 1000');
    expect(reads.get('a', 1500)).toBeUndefined();
    expect(reads.get('b', 1000)).toBeUndefined();
    reads.set('a', 1500, 'read at 1500');
    expect(reads.get('a', 1600)).toBe('read at 1500');
    reads.delete('a');
    expect(reads.get('a', 1600)).toBeUndefined();
  });

  it('keeps at most max: aged reads make room, a key asked for while all are fresh is read but not kept', () => {
    const reads = createSharedReads<number>({ reuseMs: 500, max: 3 });
    reads.set('old', 0, 0);
    reads.set('a', 400, 1);
    reads.set('b', 400, 2);
    // Full: 'old' has aged and goes, 'made-up' takes its place.
    reads.set('made-up-1', 600, 3);
    expect([reads.get('old', 600), reads.get('a', 600), reads.get('b', 600), reads.get('made-up-1', 600)]).toEqual([
      undefined,
      1,
      2,
      3,
    ]);
    // Full of fresh reads: the new key is not kept, and none of them is pushed out.
    reads.set('made-up-2', 700, 4);
    expect(reads.get('made-up-2', 700)).toBeUndefined();
    expect([reads.get('a', 700), reads.get('b', 700), reads.get('made-up-1', 700)]).toEqual([1, 2, 3]);
    // A key kept already is read again in place, full or not.
    reads.set('a', 800, 5);
    expect(reads.get('a', 800)).toBe(5);
  });
});
