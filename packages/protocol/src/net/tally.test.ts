import { describe, expect, it } from 'vitest';
import { createTally } from './tally.js';

describe('tally', () => {
  it('counts per key and forgets a key back at 0', () => {
    const t = createTally();
    expect(t.get('a')).toBe(0);
    expect(t.add('a', 3)).toBe(3);
    expect(t.add('b', 1)).toBe(1);
    expect(t.add('a', -2)).toBe(1);
    expect(t.add('a', -1)).toBe(0);
    expect([t.get('a'), t.get('b')]).toEqual([0, 1]);
  });
});
