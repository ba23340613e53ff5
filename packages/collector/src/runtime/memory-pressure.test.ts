import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHED,
  fileMappedBytesFromStat,
  memoryPressure,
  memoryReading,
  NO_SHED,
  SHED_STEPS,
  shedDecision,
  shedLevel,
  statusBytes,
} from './memory-pressure.js';

const MiB = 1024 * 1024;

describe('memoryPressure', () => {
  it('is the larger of anonymous memory over the limit and used heap over the heap limit', () => {
    expect(
      memoryPressure(
        {
          anonBytes: 96 * MiB,
          fileMappedBytes: 0,
          heapUsedBytes: 20 * MiB,
          heapTotalBytes: 20 * MiB,
          heapLimitBytes: 80 * MiB,
          externalBytes: 0,
        },
        128 * MiB,
      ),
    ).toBe(0.75);
    expect(
      memoryPressure(
        {
          anonBytes: 40 * MiB,
          fileMappedBytes: 0,
          heapUsedBytes: 72 * MiB,
          heapTotalBytes: 72 * MiB,
          heapLimitBytes: 80 * MiB,
          externalBytes: 0,
        },
        128 * MiB,
      ),
    ).toBe(0.9);
  });

  it("does not count V8's free committed heap: it is ready for new objects", () => {
    expect(
      memoryPressure(
        {
          anonBytes: 60 * MiB,
          fileMappedBytes: 0,
          heapUsedBytes: 20 * MiB,
          heapTotalBytes: 28 * MiB,
          heapLimitBytes: 40 * MiB,
          externalBytes: 0,
        },
        64 * MiB,
      ),
    ).toBe(52 / 64);
  });

  it("counts the mapped file pages charged to the cgroup (node's code after a first start): the kernel counts them too", () => {
    const u = {
      anonBytes: 70 * MiB,
      fileMappedBytes: 40 * MiB,
      heapUsedBytes: 20 * MiB,
      heapTotalBytes: 24 * MiB,
      heapLimitBytes: 64 * MiB,
      externalBytes: 0,
    };
    // 70 - 4 free heap + 40: over the first step (0.88) where the anonymous memory alone (0.52) is not.
    expect(memoryPressure(u, 128 * MiB)).toBe(106 / 128);
    expect(memoryPressure({ ...u, fileMappedBytes: 0 }, 128 * MiB)).toBe(66 / 128);
  });

  it('without a memory limit, the heap alone', () => {
    expect(
      memoryPressure(
        {
          anonBytes: 4000 * MiB,
          fileMappedBytes: 0,
          heapUsedBytes: 40 * MiB,
          heapTotalBytes: 40 * MiB,
          heapLimitBytes: 80 * MiB,
          externalBytes: 0,
        },
        undefined,
      ),
    ).toBe(0.5);
  });
});

describe('statusBytes', () => {
  it('reads RssAnon or RssFile (kB) from /proc/self/status', () => {
    const status =
      'Name:\tnode\nVmRSS:\t   85488 kB\nRssAnon:\t   46012 kB\nRssFile:\t   39476 kB\nRssShmem:\t       0 kB\n';
    expect(statusBytes(status, 'RssAnon')).toBe(46012 * 1024);
    expect(statusBytes(status, 'RssFile')).toBe(39476 * 1024);
    expect(statusBytes('Name:\tnode\n', 'RssAnon')).toBeUndefined();
  });
});

describe('fileMappedBytesFromStat', () => {
  it("reads the cgroup's mapped file pages: v1's hierarchical total first, v2's file_mapped, else 0", () => {
    const v1 = 'cache 92000256\nrss 37748736\nmapped_file 1048576\ntotal_cache 92000256\ntotal_mapped_file 41734144\n';
    expect(fileMappedBytesFromStat(v1)).toBe(41734144);
    expect(fileMappedBytesFromStat('cache 4096\nmapped_file 8192\n')).toBe(8192);
    expect(fileMappedBytesFromStat('anon 37748736\nfile 92000256\nkernel 2621440\nfile_mapped 41734144\n')).toBe(
      41734144,
    );
    expect(fileMappedBytesFromStat('')).toBe(0);
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

describe('memoryReading', () => {
  it('live is the used heap plus external memory; resident also counts the anonymous memory outside them', () => {
    const u = {
      anonBytes: 40 * MiB,
      fileMappedBytes: 0,
      heapUsedBytes: 16 * MiB,
      heapTotalBytes: 24 * MiB,
      heapLimitBytes: 128 * MiB,
      externalBytes: 4 * MiB,
    };
    expect(memoryReading(u, 64 * MiB)).toEqual({ resident: 32 / 64, live: 20 / 64 });
    // Without a limit, both are the used heap over its limit.
    expect(memoryReading(u, undefined)).toEqual({ resident: 0.125, live: 0.125 });
  });
});

describe('shedDecision', () => {
  /** Levels taken over a sequence of [resident, live] readings, from no shedding. */
  const levels = (readings: Array<[number, number]>) => {
    let state = NO_SHED;
    return readings.map(([resident, live]) => {
      state = shedDecision({ resident, live }, state);
      return state.level;
    });
  };

  it('eases a step once live memory falls, though malloc keeps the resident reading at its peak', () => {
    // The shape of a real run (64 MiB cgroup told 32 MiB, 20 MiB backlog): the part outside V8
    // (resident - live) is 0.23 when the first step is taken and grows to ~0.28 while it is held.
    const run: Array<[number, number]> = [
      [0.5, 0.3],
      [0.89, 0.66],
      [0.97, 0.71],
      [0.87, 0.59],
      [0.86, 0.58],
      [0.9, 0.62],
      [0.95, 0.67],
    ];
    // Discounted: 0.03 at the third reading, then the 0.05 the part outside V8 grew (within the allowance).
    expect(levels(run)).toEqual([0, 1, 2, 0, 0, 0, 1]);
    // On the resident reading alone, the first step is held for good: what this replaces.
    let level = 0;
    expect(run.map(([resident]) => (level = shedLevel(resident, level)))).toEqual([0, 1, 3, 1, 1, 1, 2]);
  });

  it('discounts nothing when shedding begins, and at most the allowance after', () => {
    const { enter, retainedAllowance } = DEFAULT_SHED;
    const [a] = enter;
    // Live memory alone would say nothing is wrong: the resident reading decides the first step.
    expect(shedDecision({ resident: a, live: 0.2 }, NO_SHED)).toEqual({
      level: 1,
      pressure: a,
      outsideAtStart: a - 0.2,
    });
    // The part outside V8 grows by 0.3 (a native leak, say): only the allowance is discounted.
    // Outside an episode nothing is discounted.
    expect(
      shedDecision({ resident: 0.8, live: 0.2 }, shedDecision({ resident: 0.5, live: 0.4 }, NO_SHED)).pressure,
    ).toBe(0.8);
    let state = shedDecision({ resident: a, live: 0.6 }, NO_SHED);
    state = shedDecision({ resident: a + 0.3, live: 0.6 }, state);
    expect(state.pressure).toBeCloseTo(a + 0.3 - retainedAllowance, 10);
    expect(state.level).toBe(3);
  });

  it('does not flap: between a threshold and the hysteresis below it the level holds either way', () => {
    const [a] = DEFAULT_SHED.enter;
    const h = DEFAULT_SHED.hysteresis;
    // The part outside V8 is 0.2 at the start and grows to 0.24: 0.04 is discounted from then on.
    expect(
      levels([
        [a, a - 0.2],
        [a + 0.04 - h / 2, a - 0.2 - h / 2],
        [a + 0.04 - h - 0.001, a - 0.2 - h - 0.001],
        [a + 0.04 - h / 2, a - 0.2 - h / 2],
        [a + 0.04, a - 0.2],
        [a + 0.04 - h / 2, a - 0.2 - h / 2],
      ]),
    ).toEqual([1, 1, 0, 0, 1, 1]);
  });

  it('ends the episode, and the allowance with it, once the resident reading itself falls', () => {
    const [a] = DEFAULT_SHED.enter;
    const h = DEFAULT_SHED.hysteresis;
    let state = shedDecision({ resident: a, live: 0.5 }, NO_SHED);
    state = shedDecision({ resident: a - h - 0.01, live: 0.4 }, state);
    expect(state).toEqual({ level: 0, pressure: a - h - 0.01, outsideAtStart: undefined });
  });
});
