/**
 * Real memory pressure on demand inside a real child process (the collector bin): a preload
 * (`--import`) that makes the process hold as many bytes of touched memory as a control file says,
 * and lets go of them when it says less. The memory is the process's own anonymous memory, charged
 * to its cgroup like any other, held as Buffers (V8 counts them as external memory, as it does the
 * collector's own Buffers). It is held in 1 MiB chunks, each its own mapping: the child gets
 * MALLOC_MMAP_THRESHOLD_ = 1 MiB, because glibc otherwise raises its threshold after a large free
 * and a chunk below it would come from an arena that need not shrink when it is freed. A chunk let
 * go is unmapped once V8 has collected it; the preload collects at once (`--expose-gc`).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

const CHUNK = 1024 * 1024;
/** How long the child may go without touching another 64 MiB before the hold fails. */
const STALLED_MS = 60_000;

const PRELOAD = `
import { readFileSync, writeFileSync } from 'node:fs';
const control = process.env.ET_BALLAST_FILE;
const chunks = [];
let seen = '';
setInterval(() => {
  let text;
  try { text = readFileSync(control, 'utf8'); } catch { return; }
  if (text === seen) return;
  seen = text;
  const want = Math.floor(Number(text) / ${CHUNK});
  if (chunks.length > want) {
    chunks.length = want;
    globalThis.gc();
  }
  while (chunks.length < want) {
    chunks.push(Buffer.alloc(${CHUNK}, 1));
    // Progress as it goes: on a loaded machine gigabytes take a while to touch.
    if (chunks.length % 64 === 0) writeFileSync(control + '.held', String(chunks.length * ${CHUNK}));
  }
  writeFileSync(control + '.held', String(chunks.length * ${CHUNK}));
}, 50).unref();
`;

export interface Ballast {
  /** Node flags for the child (before its script). */
  nodeArgs: string[];
  /** Environment for the child, over the parent's. */
  env: Record<string, string>;
  /** Bytes held now (whole chunks). */
  held(): number;
  /** Makes the child hold `bytes` (rounded down to whole MiB, at least 0) and waits until it does. */
  hold(bytes: number): Promise<void>;
}

/** Writes the preload and the control file under `dir`. */
export async function ballast(dir: string): Promise<Ballast> {
  const preload = path.join(dir, 'ballast-preload.mjs');
  const control = path.join(dir, 'ballast');
  await writeFile(preload, PRELOAD);
  let held = 0;
  return {
    nodeArgs: ['--expose-gc', '--import', preload],
    env: { ET_BALLAST_FILE: control, MALLOC_MMAP_THRESHOLD_: String(CHUNK) },
    held: () => held,
    async hold(bytes) {
      const want = Math.max(0, Math.floor(bytes / CHUNK)) * CHUNK;
      // Whole or not at all: the preload must never read a half-written number.
      await writeFile(`${control}.tmp`, String(want));
      await rename(`${control}.tmp`, control);
      // Touching gigabytes takes the child seconds, or minutes when its cgroup's share of a loaded
      // machine is small: give up only when it stops making progress, not after a fixed time.
      let seen = -1;
      let movedAt = Date.now();
      for (;;) {
        // Empty while the child rewrites it, missing before its first write.
        const text = await readFile(`${control}.held`, 'utf8').catch(() => '');
        const now = text === '' ? -1 : Number(text);
        if (now === want) break;
        if (now !== seen) [seen, movedAt] = [now, Date.now()];
        if (Date.now() - movedAt > STALLED_MS)
          throw new Error(`the child stopped at ${seen} of ${want} bytes of ballast for ${STALLED_MS} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
      held = want;
    },
  };
}
