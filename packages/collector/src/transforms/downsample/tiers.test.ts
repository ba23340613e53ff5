import type { MetricSummary } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../sources/types.js';
import { ddSketchOps } from './ddsketch-ops.js';
import { Downsampler } from './downsampler.js';
import { resolveDownsampleOptions } from './options.js';
import { TierRoller } from './tiers.js';

const noDrops = { drop: () => undefined };

describe('TierRoller', () => {
  it('emits each 5-minute tier window when its last minute is flushed, equal to 5-minute windows from raw', () => {
    const fine = new Downsampler(
      { windowMs: 60_000, significantDigits: 0 },
      { sketches: ddSketchOps, report: noDrops },
    );
    const coarse = new Downsampler(
      { windowMs: 300_000, significantDigits: 0 },
      { sketches: ddSketchOps, report: noDrops },
    );
    const roller = new TierRoller([300_000], ddSketchOps);
    const rolled: MetricSummary[] = [];
    const direct: MetricSummary[] = [];
    // A pseudo-random gauge and a counter with a reset, one scrape every 10 s for 20 minutes.
    let c = 0;
    for (let ts = 0; ts < 1_200_000; ts += 10_000) {
      c = ts === 610_000 ? 5 : c + (((ts / 10_000) * 7919) % 1000) + 1;
      const samples: Sample[] = [
        { container: 'a', metric: 'cpu.usage_pct', value: (((ts / 10_000) * 104729) % 997) / 10, ts, kind: 'gauge' },
        { container: 'a', metric: 'net.rx_bytes', value: c, ts, kind: 'counter' },
      ];
      // Container b misses every fourth scrape: gaps must add up across the tier too.
      if (ts % 40_000 !== 0) samples.push({ container: 'b', metric: 'mem.usage_bytes', value: ts, ts, kind: 'gauge' });
      fine.ingest('docker', { samples });
      coarse.ingest('docker', { samples });
      const end = ts + 10_000;
      if (end % 60_000 === 0) {
        const closed = roller.push(fine.flush(end), end);
        expect(closed.length > 0).toBe(end % 300_000 === 0);
        rolled.push(...closed);
      }
      if (end % 300_000 === 0) direct.push(...coarse.flush(end));
    }
    const key = (s: MetricSummary): string => `${s.container}/${s.metric}/${s.start}`;
    const norm = (xs: MetricSummary[]) =>
      xs.map((s) => ({ ...s, sum: Math.round(s.sum * 1e6) })).sort((x, y) => key(x).localeCompare(key(y)));
    expect(rolled.length).toBe(12);
    expect(norm(rolled)).toEqual(norm(direct));
    expect(rolled.reduce((n, s) => n + s.resets, 0)).toBe(1);
    // 30 missed scrapes, but at ts 0 the series does not exist yet: 29 gaps.
    expect(rolled.filter((s) => s.container === 'b').reduce((n, s) => n + s.gaps, 0)).toBe(29);
  });

  it('refuses tiers that are not multiples of the window', () => {
    expect(() => resolveDownsampleOptions({ windowMs: 60_000, tiersMs: [90_000] })).toThrow(/ET_ERR_OPTIONS.*tiersMs/);
    expect(() => resolveDownsampleOptions({ windowMs: 10 })).toThrow(/ET_ERR_OPTIONS.*windowMs/);
    expect(resolveDownsampleOptions({}).windowMs).toBe(60_000);
  });
});
