import { describe, expect, it } from 'vitest';
import { admitChunk, chunkFailed, chunkStored, createTracker, isComplete, missingChunks } from './chunk-tracker.js';

describe('chunk tracker', () => {
  it('counts duplicates, finds gaps and completes only when every chunk is stored', () => {
    const t = createTracker();
    for (const s of [0, 1, 3, 5]) expect(admitChunk(t, s)).toBe(true);
    expect(admitChunk(t, 3)).toBe(false);
    chunkStored(t, 0);
    chunkStored(t, 1);
    chunkStored(t, 3);
    chunkFailed(t, 5);
    expect(t.contiguous).toBe(2);
    expect(missingChunks(t)).toEqual([2, 4, 5]);
    t.total = 7;
    expect(missingChunks(t)).toEqual([2, 4, 5, 6]);
    expect(isComplete(t)).toBe(false);
    for (const s of [2, 4, 5, 6]) {
      expect(admitChunk(t, s)).toBe(true);
      chunkStored(t, s);
    }
    expect(admitChunk(t, 4)).toBe(false);
    expect(missingChunks(t)).toEqual([]);
    expect(isComplete(t)).toBe(true);
  });
});
