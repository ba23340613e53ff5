import { describe, expect, it } from 'vitest';
import { anonBytesFromStatus, DEFAULT_SHED, memoryPressure, SHED_STEPS, shedLevel } from './memory-pressure.js';

const MiB = 1024 * 1024;

describe('memoryPressure', () => {
  it('is the larger of anonymous memory over the limit and used heap over the heap limit', () => {
    expect(
      memoryPressure(
        { anonBytes: 96 * MiB, heapUsedBytes: 20 * MiB, heapTotalBytes: 20 * MiB, heapLimitBytes: 80 * MiB },
        128 * MiB,
      ),
    ).toBe(0.75);
    expect(
      memoryPressure(
        { anonBytes: 40 * MiB, heapUsedBytes: 72 * MiB, heapTotalBytes: 72 * MiB, heapLimitBytes: 80 * MiB },
        128 * MiB,
      ),
    ).toBe(0.9);
  });

  it("does not count V8's free committed heap: it is ready for new objects", () => {
    expect(
      memoryPressure(
        { anonBytes: 60 * MiB, heapUsedBytes: 20 * MiB, heapTotalBytes: 28 * MiB, heapLimitBytes: 40 * MiB },
        64 * MiB,
      ),
    ).toBe(52 / 64);
  });

  it('without a memory limit, the heap alone', () => {
    expect(
      memoryPressure(
        { anonBytes: 4000 * MiB, heapUsedBytes: 40 * MiB, heapTotalBytes: 40 * MiB, heapLimitBytes: 80 * MiB },
        undefined,
      ),
    ).toBe(0.5);
  });
});

describe('anonBytesFromStatus', () => {
  it('reads RssAnon (kB) from /proc/self/status, not the mapped files', () => {
    const status =
      'Name:\tnode\nVmRSS:\t   85488 kB\nRssAnon:\t   46012 kB\nRssFile:\t   39476 kB\nRssShmem:\t       0 kB\n';
    expect(anonBytesFromStatus(status)).toBe(46012 * 1024);
    expect(anonBytesFromStatus('Name:\tnode\n')).toBeUndefined();
  });
});

describe('shedLevel', () => {
  it('enters the steps in their stated order as the pressure rises', () => {
    expect(SHED_STEPS).toEqual(['pause_reading', 'store_lines', 'info_and_samples']);
    const [a, b, c] = DEFAULT_SHED.enter;
    expect(shedLevel(a - 0.01, 0)).toBe(0);
    expect(shedLevel(a, 0)).toBe(1);
    expect(shedLevel(b, 0)).toBe(2);
    expect(shedLevel(c, 0)).toBe(3);
    expect(shedLevel(1.2, 0)).toBe(3);
  });

  it('leaves a step only once the pressure is the hysteresis below its threshold', () => {
    const [a, b, c] = DEFAULT_SHED.enter;
    const h = DEFAULT_SHED.hysteresis;
    expect(shedLevel(a - h / 2, 1)).toBe(1);
    expect(shedLevel(a - h - 0.001, 1)).toBe(0);
    // From the top, it steps down as far as the pressure allows, not further.
    expect(shedLevel(c - h / 2, 3)).toBe(3);
    expect(shedLevel(b - h + 0.001, 3)).toBe(2);
    expect(shedLevel(b - h - 0.001, 3)).toBe(1);
    expect(shedLevel(0.1, 3)).toBe(0);
  });

  it('a pressure sequence: rises, holds at the edge without flapping, falls', () => {
    let level = 0;
    const seen: number[] = [];
    for (const p of [0.5, 0.89, 0.87, 0.89, 0.94, 0.92, 0.98, 0.95, 0.9, 0.85, 0.8]) {
      level = shedLevel(p, level);
      seen.push(level);
    }
    expect(seen).toEqual([0, 1, 1, 1, 2, 2, 3, 3, 2, 1, 0]);
  });
});
