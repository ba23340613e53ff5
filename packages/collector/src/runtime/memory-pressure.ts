/**
 * Shedding under memory pressure (issue 15), in a stated order. The signal is measured, never
 * guessed: the larger of what the kernel charges this process's cgroup for and cannot take back
 * without hurting it, over the memory limit (runtime/memory-limit.ts), and V8's used heap over its
 * heap limit. What is charged: the process's anonymous memory (RssAnon, less V8's free heap) and
 * the file pages mapped in the cgroup and charged to it (memory.stat `mapped_file` / `file_mapped`):
 * node's own binary and libraries, ~40 MiB, when the container's first start paged them in (where
 * the limit's cgroup cannot be read, e.g. given as `memory.limitBytes` because the container sees
 * the host's /sys/fs/cgroup, the file pages the process maps, `RssFile`: they may be charged
 * elsewhere, so this counts too much rather than too little). The
 * kernel can drop those, but they are the code being run: in a 128 MiB cgroup at a first start
 * (node's pages charged there, anonymous memory raised to 0.85 of the limit, under the first step
 * when only anonymous memory counted) the collector stalled on page faults for minutes without
 * being killed. Not RSS: RSS also counts pages charged to another cgroup that paged them in first
 * (the host's, a test runner's), which this limit does not pay for; in a 64 MiB cgroup the
 * collector's RSS was 83 MiB at start with 45 MiB of it anonymous. The page cache of what it reads
 * and writes is not counted: the kernel reclaims it first (at a first start over a 200 MiB backlog
 * the cgroup's usage sat at its 128 MiB limit with 88 MiB of cache, no OOM kill, 12 page faults).
 * Each step is entered at its threshold and kept until the pressure falls `hysteresis` below it,
 * so a level does not flap at the edge. Anonymous memory outside V8's heap is not given back
 * after a peak (malloc keeps what V8's compiler and Node's natives freed, for their next use), so
 * a step held while it stays up is left on what is in use instead (`shedDecision`):
 *
 * 1. `pause_reading`: log files are read ahead more slowly (the reader waits between chunks), so no
 *    more lines pile up in open windows and the store's queue. Nothing is lost: the lines wait in
 *    their files.
 * 2. `store_lines`: lines are no longer queued for the full-log store (counted as drops `store` /
 *    `memory_pressure`); the shipped summaries are unaffected.
 * 3. `info_and_samples`: the least valuable shipped class (info and below verbatim, template
 *    samples: priority class 3) is withheld at the seal (counted as drops `memory.shed`).
 *
 * Never shed: metric scrapes and summaries, WARN+ lines, template counts, acks and the outbox.
 * Pure functions; the sampling timer and the state between samples live in build-collector.ts.
 */

export const SHED_STEPS = ['pause_reading', 'store_lines', 'info_and_samples'] as const;
export type ShedStep = (typeof SHED_STEPS)[number];

export interface ShedThresholds {
  /** Pressure (0..1) at which each step of SHED_STEPS is entered, ascending. */
  enter: readonly [number, number, number];
  /** How far below its threshold the pressure must fall before a step is left. */
  hysteresis: number;
  /**
   * At most this much (fraction of the limit) of the anonymous memory outside V8 that grew while
   * shedding is taken as malloc keeping what was freed, not as pressure (shedDecision).
   */
  retainedAllowance: number;
}

/** Above what the collector peaks at in its 128 MiB budget over a 200 MiB backlog (anonymous 63 MiB: 0.49) and in 64 MiB (see test/collector/small-cgroup.test.ts). */
/**
 * The allowance: in a 64 MiB cgroup told 32 MiB, the anonymous memory outside V8 grew by 1.8-2.8
 * MiB (0.06-0.09 of the limit) while a step was held; 0.06 lets a step ease once live memory has
 * fallen, and bounds what a native leak could hide (6 % of the limit).
 */
export const DEFAULT_SHED: ShedThresholds = {
  enter: [0.88, 0.93, 0.97],
  hysteresis: 0.05,
  retainedAllowance: 0.06,
};

export interface MemoryUsage {
  /** Anonymous resident memory (RssAnon): the part of RSS that only the OOM killer can take back. */
  anonBytes: number;
  /** File pages mapped in the cgroup and charged to it (its memory.stat; 0 without one): the code being run. */
  fileMappedBytes: number;
  /**
   * V8's committed heap (heapTotal). Its free part (heapTotal - heapUsed) is resident but ready
   * for the next objects, so it is not counted: V8 keeps it after a collection, and counting it
   * would hold a step long after the pressure that caused it (in 64 MiB, anonymous memory stayed
   * at 0.88 after one peak and reading stayed slowed for the rest of a 20 MiB backlog).
   */
  heapTotalBytes: number;
  heapUsedBytes: number;
  heapLimitBytes: number;
  /** Memory of JavaScript objects outside the heap (`external`: Buffers and ArrayBuffers are part of it). */
  externalBytes: number;
}

/** Used heap over V8's heap limit (0 where V8 gives none). */
function heapShare(u: MemoryUsage): number {
  return u.heapLimitBytes > 0 ? u.heapUsedBytes / u.heapLimitBytes : 0;
}

/**
 * The pressure signal: the larger of memory in use (anonymous memory less V8's free committed
 * heap, plus the mapped file pages charged to the cgroup) / the memory limit (when there is one)
 * and used heap / heap limit.
 */
export function memoryPressure(u: MemoryUsage, limitBytes: number | undefined): number {
  const heap = heapShare(u);
  if (limitBytes === undefined || limitBytes <= 0) return heap;
  const inUse = u.anonBytes - Math.max(0, u.heapTotalBytes - u.heapUsedBytes) + u.fileMappedBytes;
  return Math.max(heap, inUse / limitBytes);
}

/** Both readings of one sample, as fractions of the memory limit (of the heap limit without one). */
export interface MemoryReading {
  /** memoryPressure: what the kernel charges, less V8's free heap. It stays up after a peak. */
  resident: number;
  /**
   * What the collector's objects hold: V8's used heap and external memory, and the code it runs
   * (the mapped file pages, as in `resident`). It falls as soon as V8 collects; it misses native
   * memory in use (zstd contexts, sockets), so it only ever eases a step.
   */
  live: number;
}

export function memoryReading(u: MemoryUsage, limitBytes: number | undefined): MemoryReading {
  const resident = memoryPressure(u, limitBytes);
  if (limitBytes === undefined || limitBytes <= 0) return { resident, live: resident };
  const live = (u.heapUsedBytes + u.externalBytes + u.fileMappedBytes) / limitBytes;
  return { resident, live: Math.max(heapShare(u), live) };
}

export interface ShedState {
  /** 0 = none, n = the first n steps of SHED_STEPS. */
  level: number;
  /** The pressure this decision was taken on. */
  pressure: number;
  /**
   * resident - live (the anonymous memory outside V8's heap and external memory) when the
   * resident reading first crossed the first step; undefined outside such an episode.
   */
  outsideAtStart: number | undefined;
}

export const NO_SHED: ShedState = { level: 0, pressure: 0, outsideAtStart: undefined };

/**
 * The next shed state from one reading. The pressure is the resident reading, less what the
 * anonymous memory outside V8 (`resident - live`) grew since the shedding began, up to
 * `retainedAllowance`: malloc keeps what V8's compiler and Node's natives freed, so that part stays
 * up after a peak and, counted, held a step long after live memory had fallen. Steps are entered
 * and left on that one pressure with the hysteresis, so a level does not flap; the episode (and the
 * allowance) ends when the resident reading itself falls below the first step's easing point. At
 * the moment shedding begins nothing is discounted, and a native leak can hide at most the
 * allowance. Measured (real bin in a 64 MiB cgroup told its limit is 32 MiB, 20 MiB backlog):
 * after each full collection `live` fell to 0.58-0.64 while the resident reading stayed at
 * 0.87-0.92, the part outside V8 having grown from 7.2 to 8.9-10.0 MiB since the first step.
 */
export function shedDecision(r: MemoryReading, prev: ShedState, t: ShedThresholds = DEFAULT_SHED): ShedState {
  const outside = r.resident - r.live;
  const easeAt = (t.enter[0] as number) - t.hysteresis;
  const start = prev.outsideAtStart ?? (r.resident >= t.enter[0] ? outside : undefined);
  if (start === undefined || r.resident < easeAt) {
    return { level: shedLevel(r.resident, prev.level, t), pressure: r.resident, outsideAtStart: undefined };
  }
  const pressure = r.resident - Math.min(t.retainedAllowance, Math.max(0, outside - start));
  return { level: shedLevel(pressure, prev.level, t), pressure, outsideAtStart: start };
}

/**
 * The mapped file pages charged to a cgroup, in bytes, from the text of its memory.stat: v1's
 * `total_mapped_file` (the limit's cgroup and those below it, as the limit applies to them all) or
 * `mapped_file`, v2's `file_mapped` (v2 counts the subtree already); 0 where neither is there.
 */
export function fileMappedBytesFromStat(stat: string): number {
  const m = /^(?:total_mapped_file|file_mapped) (\d+)$/m.exec(stat) ?? /^mapped_file (\d+)$/m.exec(stat);
  return m ? Number(m[1]) : 0;
}

/**
 * A resident size from the text of /proc/self/status, in bytes: `RssAnon` (the anonymous memory) or
 * `RssFile` (the file pages it maps, wherever they are charged); undefined where the kernel does not give it.
 */
export function statusBytes(status: string, field: 'RssAnon' | 'RssFile'): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The shed level (0 = none, n = the first n steps) for `pressure`, given the level before. */
export function shedLevel(pressure: number, previous: number, t: ShedThresholds = DEFAULT_SHED): number {
  let level = 0;
  t.enter.forEach((at, i) => {
    if (pressure >= at) level = i + 1;
  });
  // A step already taken is kept while the pressure is within the hysteresis below its threshold.
  for (let i = Math.min(previous, t.enter.length); i > level; i--)
    if (pressure >= (t.enter[i - 1] as number) - t.hysteresis) return i;
  return level;
}
