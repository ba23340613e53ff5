/**
 * What the collector holds, sized to the memory it may use (issue 15). The option defaults are
 * what fits the deployment's 128 MiB (measured: `npm run bench -- collector.backlog`, anonymous
 * memory peaked at 65 MiB there); under another limit the parts that grow with what is read scale
 * with the memory left over the runtime's own, within bounds. An option set to anything but its
 * default is kept as set; without a limit (or with `memory.limitBytes: -1`) the defaults stand.
 * Pure: the limit comes from runtime/memory-limit.ts.
 */
import type { CollectorConfig } from '../config/options.js';

const MiB = 1024 * 1024;
/** The limit the defaults are sized for (docker/compose.edge.yml, the K3s manifest). */
export const REFERENCE_LIMIT_BYTES = 128 * MiB;
/** Node, the collector's code and its fixed structures: what no option shrinks (start-up VmRSS ~63 MiB, ~43 of it the mapped node binary). */
export const RUNTIME_BYTES = 48 * MiB;

/** A sized option: where it is in the configuration, its default, and its bounds. */
interface Sized {
  path: readonly string[];
  defaultValue: number;
  min: number;
  max: number;
  /** Rounded to a multiple of this. */
  step: number;
}

/** Read-ahead, store blocks and what may wait for the disk, miner clusters and their tokens, verbatim lines held per window, containers' log states, batches in flight, the prefix zstd compresses a batch against. */
export const SIZED: readonly Sized[] = [
  { path: ['sources', 'logFiles', 'chunkBytes'], defaultValue: 65536, min: 16384, max: 262144, step: 4096 },
  { path: ['store', 'blockBytes'], defaultValue: 262144, min: 32768, max: 1048576, step: 4096 },
  { path: ['store', 'maxPendingBytes'], defaultValue: 8 * MiB, min: MiB, max: 32 * MiB, step: 65536 },
  { path: ['logs', 'templates', 'maxClusters'], defaultValue: 5000, min: 500, max: 20000, step: 100 },
  { path: ['logs', 'templates', 'maxHeldTokens'], defaultValue: 64000, min: 8000, max: 256000, step: 1000 },
  { path: ['logs', 'maxLogsPerWindow'], defaultValue: 5000, min: 500, max: 20000, step: 100 },
  { path: ['logs', 'maxContainers'], defaultValue: 1000, min: 125, max: 4000, step: 25 },
  { path: ['uplink', 'sender', 'window'], defaultValue: 32, min: 4, max: 128, step: 1 },
  { path: ['uplink', 'sender', 'referenceBytes'], defaultValue: 393216, min: 65536, max: 1572864, step: 4096 },
];

export interface MemorySizing {
  limitBytes: number | undefined;
  /** (limit - runtime) / (reference - runtime), within 1/8 .. 4; 1 without a limit. */
  factor: number;
  /** Every sized option's value, by dotted path. */
  sizes: Record<string, number>;
  /** Those set to other than their default, kept as set. */
  kept: string[];
}

/** The factor the sized options scale by under `limitBytes`. */
export function memoryFactor(limitBytes: number | undefined): number {
  if (limitBytes === undefined) return 1;
  const f = (limitBytes - RUNTIME_BYTES) / (REFERENCE_LIMIT_BYTES - RUNTIME_BYTES);
  return Math.min(4, Math.max(1 / 8, f));
}

function get(o: unknown, p: readonly string[]): unknown {
  return p.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
}

/** The configuration with its sized options set for `limitBytes`, and what was chosen. */
export function sizeToMemory(
  config: CollectorConfig,
  limitBytes: number | undefined,
): { config: CollectorConfig; sizing: MemorySizing } {
  const factor = memoryFactor(limitBytes);
  const out = structuredClone(config);
  const sizes: MemorySizing['sizes'] = {};
  const kept: string[] = [];
  for (const s of SIZED) {
    const current = get(config, s.path) as number;
    const key = s.path.join('.');
    if (current !== s.defaultValue) kept.push(key);
    if (current !== s.defaultValue || factor === 1) {
      sizes[key] = current;
      continue;
    }
    const value = Math.min(s.max, Math.max(s.min, Math.round((s.defaultValue * factor) / s.step) * s.step));
    const parent = get(out, s.path.slice(0, -1)) as Record<string, number>;
    parent[s.path[s.path.length - 1] as string] = value;
    sizes[key] = value;
  }
  return { config: out, sizing: { limitBytes, factor, sizes, kept } };
}

/**
 * The V8 heap flags a collector under `limitBytes` must be started with; none at or above the
 * reference limit, where V8's defaults were measured to fit (`npm run bench -- collector.backlog`).
 * Node sizes V8's heap from the cgroup's limit but never below V8's minimum (heap_size_limit 259
 * MiB in a 64 or 128 MiB cgroup), V8 grows it before it collects, and the heap cannot be bounded
 * once the process runs: so the launcher (NODE_OPTIONS, the manifests) must pass these, and the
 * collector warns at start when they are missing. Measured in a 64 MiB / 0.2 CPU cgroup over a
 * 20 MiB backlog (test/collector/small-cgroup.test.ts): with V8's defaults, and
 * with only --max-semi-space-size=2 or 4, it was OOM-killed within 20-50 s whatever it shed (heap
 * used ~32 MiB plus ~30 MiB outside the heap); --max-old-space-size=24 ran out of heap; these
 * (old space half the limit, semi-space 1 MiB) kept its anonymous memory at 48 MiB.
 */
export function v8HeapFlags(limitBytes: number | undefined): string[] {
  if (limitBytes === undefined || limitBytes >= REFERENCE_LIMIT_BYTES) return [];
  return [`--max-old-space-size=${Math.floor(limitBytes / 2 / MiB)}`, '--max-semi-space-size=1'];
}

/**
 * Every flag a collector under `limitBytes` is started with (the image's bin/launch.sh computes
 * the same from the container's limit, checked against this by test/deploy/launch.test.ts):
 * the heap flags (at the reference limit YOUNG_GENERATION_FLAGS), and at or below it COMPILER_FLAGS (below) and one V8 worker
 * thread instead of four. Each worker thread of V8's platform keeps a malloc arena of its own; the
 * collector's JavaScript runs on one thread, and its helpers' parallel GC gains nothing on a fifth
 * of a core. Measured, real
 * bin in the 128 MiB / 0.2 CPU cgroup over a 50 MiB backlog, two pairs of runs: VmHWM 97.8 -> 92.2
 * and 106.1 -> 99.7 MiB, anonymous peak 5.3-6.6 MiB lower, CPU the same (4.16 / 4.11, 5.06 / 5.08 s).
 */
export function launchFlags(limitBytes: number | undefined): string[] {
  if (limitBytes === undefined || limitBytes > REFERENCE_LIMIT_BYTES) return [];
  const young = limitBytes === REFERENCE_LIMIT_BYTES ? YOUNG_GENERATION_FLAGS : [];
  return [...v8HeapFlags(limitBytes), ...young, '--v8-pool-size=1', ...COMPILER_FLAGS];
}

/**
 * At the reference limit, a young generation of 2 MiB instead of the 1 MiB V8 gives a heap of
 * this size (its semi-space is an old generation of 256 MB / 256). A scavenge costs about as
 * much whatever it frees (what survives it, a window's verbatim events, is held until the window
 * seals anyway), so half as many of them cost less; below the reference limit the 1 MiB of
 * v8HeapFlags stays (64 MiB is the edge already). Measured side by side, real bin, each in its own
 * 128 MiB / 0.2 CPU cgroup over the seeded 50 MiB backlog (loads 18-27): 3 rounds, 4.30 -> 4.12
 * CPU-s (-4.4 %), VmHWM 78.4 -> 80.1 MiB; session 13, 200 MiB, 2 rounds: -3.6 %, VmHWM +3.5 MiB.
 * 4 MiB took another 5 % for +5.5 MiB VmHWM (80.3 -> 85.8, 2 rounds): left for the memory budget.
 */
export const YOUNG_GENERATION_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/**
 * The part of launchFlags that goes on node's command line: V8's optimizing compiler (TurboFan)
 * runs on the thread that asks for it, and only for code that has run twice as long as V8's
 * default waits (Node refuses both flags in NODE_OPTIONS, so bin/launch.sh passes them as
 * arguments). Over a backlog TurboFan compiles ~350 functions; on a fifth of a core its worker
 * thread's compiles are CPU the collector pays like its own, and compiled where they are asked
 * for, with fewer lukewarm functions among them, they cost less. Measured side by side, real bin
 * in the 128 MiB / 0.2 CPU cgroup (issue 15's CPU per line): over 200 MiB, 2 rounds, 8.57 -> 8.33
 * CPU-s (-2.8 %; V8's worker thread 1.35 -> 0.58 CPU-s, its concurrent marking included), VmHWM
 * 81.7 -> 81.4 MiB; over 50 MiB, 3 rounds, 2.80 -> 2.68 (-4.2 %).
 */
export const COMPILER_FLAGS: readonly string[] = ['--no-concurrent-recompilation', '--interrupt-budget=135168'];

/**
 * The malloc settings a collector under `limitBytes` is started with (glibc reads them from the
 * environment once, at start: bin/launch.sh exports them, as it does launchFlags). By default glibc
 * moves its thresholds: each time a mapped chunk is freed (a store block, a zstd buffer), later
 * allocations up to its size come from the heap instead (up to 32 MiB), and the heap's top is
 * given back only above twice that, so what V8's zones and zstd freed stayed resident: the
 * anonymous memory outside V8's heap and external memory sat at 10-11 MiB after the first minutes
 * of a 2 GiB backlog, with one-second spikes to 16-20. Fixed thresholds: allocations of 64 KiB and
 * more are mapped and unmapped when freed, the top of the heap is given back above 128 KiB; it
 * then sat at 4.5-4.7 MiB with spikes to 8-9. Real bin, 128 MiB / 0.2 CPU cgroup, seeded 2 GiB
 * backlog, two pairs of runs side by side: VmHWM 96.0 / 96.6 -> 93.8 / 92.1 MiB, CPU 72.3 / 74.6
 * -> 74.7 / 75.4 s (collector/README.md, "A bigger backlog").
 */
export function launchEnv(limitBytes: number | undefined): Record<string, string> {
  if (limitBytes === undefined || limitBytes > REFERENCE_LIMIT_BYTES) return {};
  return { MALLOC_MMAP_THRESHOLD_: String(64 * 1024), MALLOC_TRIM_THRESHOLD_: String(128 * 1024) };
}
