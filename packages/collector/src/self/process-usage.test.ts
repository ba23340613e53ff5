import { describe, expect, it } from 'vitest';
import { createProcessUsage, type ProcessProbe } from './process-usage.js';

describe('createProcessUsage', () => {
  it('answers a failed resident-set reading (EMFILE) with the last good one, and counts it', () => {
    const readings: Array<number | Error> = [5_000, Object.assign(new Error('EMFILE'), { code: 'EMFILE' }), 7_000];
    const probe: ProcessProbe = {
      cpuMicros: () => 0,
      nowMs: () => 0,
      rssBytes: () => {
        const next = readings.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    };
    const usage = createProcessUsage(probe);
    expect(usage.rssBytes()).toBe(5_000);
    expect(usage.rssBytes()).toBe(5_000);
    expect(usage.rssFailures()).toBe(1);
    expect(usage.rssBytes()).toBe(7_000);
    expect(usage.rssFailures()).toBe(1);
  });
});
