import { describe, expect, it } from 'vitest';
import { parseTimeSpec } from './time-spec.js';

describe('parseTimeSpec', () => {
  const now = Date.UTC(2026, 11, 6, 12);
  it('takes epoch ms, ISO-8601 and durations back from now', () => {
    expect(parseTimeSpec(5, now)).toBe(5);
    expect(parseTimeSpec('1700000000000', now)).toBe(1_700_000_000_000);
    expect(parseTimeSpec('2026-12-06T11:00:00Z', now)).toBe(now - 3_600_000);
    expect(parseTimeSpec('2h', now)).toBe(now - 7_200_000);
    expect(parseTimeSpec(' 90s ', now)).toBe(now - 90_000);
    expect(parseTimeSpec('1.5m', now)).toBe(now - 90_000);
  });
  it('refuses anything else', () => {
    for (const v of ['banana', '', '2 hours', '-5m', 'NaN', Number.NaN]) expect(parseTimeSpec(v, now)).toBeUndefined();
  });
});
