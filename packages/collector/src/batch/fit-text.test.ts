import { describe, expect, it } from 'vitest';
import { CUT_MARK, fitText } from './fit-text.js';

const bytes = (s: string) => Buffer.byteLength(s);

describe('fitText', () => {
  it('returns a text that fits as it is', () => {
    expect(fitText('short', 100)).toBe('short');
    expect(fitText('ā'.repeat(50), 100)).toBe('ā'.repeat(50));
  });

  it('cuts a long text at a character boundary within the bound, marked, whatever its length', () => {
    for (const [unit, n] of [
      ['A', 3_000_000],
      ['ā', 3_000_000],
      ['€', 101],
      ['😀', 60],
    ] as const) {
      const s = unit.repeat(n);
      const t = fitText(s, 200);
      expect(t.endsWith(CUT_MARK)).toBe(true);
      expect(bytes(t)).toBeLessThanOrEqual(200);
      const kept = t.slice(0, -CUT_MARK.length);
      expect(s.startsWith(kept)).toBe(true);
      // As much as fits: one more character would not.
      expect(bytes(kept) + bytes(unit) + bytes(CUT_MARK)).toBeGreaterThan(200);
    }
  });

  it('says when it cut a text, and only then', () => {
    const cuts: string[] = [];
    for (const s of ['A'.repeat(300), 'short', `short${CUT_MARK}`, 'a\uD800b']) fitText(s, 200, () => cuts.push(s));
    expect(cuts).toEqual(['A'.repeat(300)]);
  });

  it('makes a lone surrogate well-formed, in a text that fits and in one that is cut', () => {
    expect(fitText('a\uD800b', 100)).toBe('a\uFFFDb');
    const t = fitText('\uDC00' + 'A'.repeat(1000), 100);
    expect(t.startsWith('\uFFFD')).toBe(true);
    expect(bytes(t)).toBeLessThanOrEqual(100);
  });
});
