/**
 * The benchmark contract: each bench/*.bench.ts exports `benches`, a list of named cases.
 * A case returns figures; ratios are computed against a baseline measured in the same run,
 * because these machines are noisy and only same-run ratios are comparable.
 */
export interface Figure {
  /** Named as the issues name them, e.g. `protocol.encode_mb_per_s`. */
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  note?: string;
}

export interface BenchCase {
  /** Prefix of the figures it produces; `npm run bench -- <filter>` matches against it. */
  name: string;
  run(): Promise<Figure[]>;
}

/** A figure against its same-run baseline, with the ratio of the two. */
export function against(name: string, unit: string, value: number, baseline: number, note: string): Figure {
  return { name, value, unit, baseline, ratio: value / baseline, note };
}

/** The middle value (the upper one of an even count); 0 for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Median of repeated runs of fn, in ms per run. */
export async function medianMs(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}
