import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseSimulateArgs } from './options.js';
import { plannedCuts } from './outage-plan.js';
import { shardRanges } from './fleet.js';
import { createPrng } from '@edge-telemetry/collector';

describe('simulate options', () => {
  it('reads durations with units, bare numbers as seconds', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('defaults to the light profile, one worker per core and at most one per 100 nodes', () => {
    const r = parseSimulateArgs(['--nodes', '1000'], 2);
    if (!('options' in r)) throw new Error(r.problems.join('; '));
    expect(r.options).toMatchObject({
      nodes: 1000,
      workers: 2,
      logStore: false,
      outageRate: 0,
      durationMs: undefined,
      windowMs: 60_000,
      scrapeMs: 10_000,
      ackTimeoutMs: 60_000,
      containers: undefined,
    });
    const small = parseSimulateArgs(['--nodes', '20', '--log-store', '--duration', '30s'], 8);
    expect('options' in small && small.options).toMatchObject({ workers: 1, logStore: true, durationMs: 30_000 });
    const quick = parseSimulateArgs(['--ack-timeout-ms', '5000'], 2);
    expect('options' in quick && quick.options.ackTimeoutMs).toBe(5000);
    const thin = parseSimulateArgs(['--containers', '2'], 2);
    expect('options' in thin && thin.options.containers).toBe(2);
    expect('options' in thin && thin.options.deliveriesFile).toBeUndefined();
    const logged = parseSimulateArgs(['--deliveries', 'out/deliveries.tsv'], 2);
    expect('options' in logged && logged.options.deliveriesFile).toBe(path.resolve('out/deliveries.tsv'));
  });

  it('says what to fix', () => {
    const r = parseSimulateArgs(
      [
        '--nodes',
        '0',
        '--containers',
        '501',
        '--window-ms',
        '15000',
        '--duration',
        'x',
        '--broker',
        'http://x',
        '--outage-rate=-1',
      ],
      2,
    );
    expect('problems' in r && r.problems).toEqual([
      '--nodes must be a whole number from 1 to 10000',
      '--window-ms must be a multiple of --scrape-ms',
      '--containers must be a whole number from 1 to 500',
      '--duration must be like 30s, 10m or 2h',
      '--outage-rate must be a number of cuts per node per hour, 0 or more',
      '--broker must be an mqtt:// or mqtts:// URL',
    ]);
  });
});

describe('fleet layout and outage plan', () => {
  it('splits nodes into contiguous, even shards', () => {
    expect(shardRanges(1000, 2)).toEqual([
      { from: 0, to: 500 },
      { from: 500, to: 1000 },
    ]);
    expect(shardRanges(5, 3)).toEqual([
      { from: 0, to: 1 },
      { from: 1, to: 3 },
      { from: 3, to: 5 },
    ]);
  });

  it('cuts links at the configured rate, never a node already down, for 0.5-1.5x the mean', () => {
    const rnd = createPrng(1);
    const down = Array.from({ length: 1000 }, (_, i) => i % 10 === 0);
    let cuts = 0;
    // 6 cuts per node-hour over 1000 nodes (900 up) for one simulated hour in 1 s steps: ~5,400.
    for (let step = 0; step < 3600; step++) {
      for (const c of plannedCuts(down, 6, 60_000, 1000, rnd)) {
        expect(down[c.index]).toBe(false);
        expect(c.lengthMs).toBeGreaterThanOrEqual(30_000);
        expect(c.lengthMs).toBeLessThan(90_000);
        cuts++;
      }
    }
    expect(cuts / 5400).toBeGreaterThan(0.95);
    expect(cuts / 5400).toBeLessThan(1.05);
  });
});
