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
import { waitFor } from './wait.js';

const CHUNK = 1024 * 1024;

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
  while (chunks.length < want) chunks.push(Buffer.alloc(${CHUNK}, 1));
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
      await waitFor(
        `the child to hold ${want} bytes of ballast`,
        async () => Number(await readFile(`${control}.held`, 'utf8')) === want,
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      held = want;
    },
  };
}
