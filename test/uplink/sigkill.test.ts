/**
 * kill -9 at random moments while producing: every batch whose submit() resolved (the append was
 * fsynced) reaches the acker, stored exactly once. ET_SOAK=1 runs 100 kills instead of 12.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startAcker, type Acker } from './acker.js';
import { tempDir } from './harness.js';
import { waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const KILLS = process.env.ET_SOAK === '1' ? 100 : 15;
/** Bundled once (esbuild, which tsx ships) so each of the many producer starts takes plain-node time. */
const bundle = path.join(root, 'node_modules/.cache/et-uplink-test/producer.mjs');

async function bundleProducer(): Promise<void> {
  await build({
    entryPoints: [path.join(here, 'fixtures/producer.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    alias: { '@edge-telemetry/protocol': path.join(root, 'packages/protocol/src/index.ts') },
    external: ['mqtt', 'zstd-napi', '@sinclair/typebox', '@sinclair/typebox/*'],
    logLevel: 'warning',
  });
}

interface Run {
  lines: string[];
  exited: Promise<number | null>;
  kill(): void;
  waitFor(line: string): Promise<void>;
}

function runProducer(dir: string, url: string, node: string, mode?: string): Run {
  const child = spawn(process.execPath, [bundle, dir, url, node, ...(mode ? [mode] : [])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((w) => w.line === l)) w.resolve();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    kill: () => child.kill('SIGKILL'),
    waitFor: (line) =>
      new Promise((resolve, reject) => {
        if (lines.includes(line)) return resolve();
        waiters.push({ line, resolve });
        void exited.then((code) => reject(new Error(`producer exited (${code}) before "${line}": ${stderr}`)));
      }),
  };
}

describe.runIf(haveMosquitto())('uplink under SIGKILL', () => {
  let broker: Mosquitto;
  let acker: Acker;
  let dir: string;
  beforeAll(async () => {
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
    dir = await tempDir('et-sigkill-');
    await bundleProducer();
  });
  afterAll(async () => {
    await acker.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    `delivers every batch whose append resolved exactly once, across ${KILLS} kills`,
    { timeout: KILLS * 5000 + 60_000 },
    async () => {
      const node = 'n-kill';
      const resolved = new Set<string>();
      const epochs = new Set<string>();
      let cuts = 0;
      for (let k = 0; k < KILLS; k++) {
        const run = runProducer(dir, broker.url, node);
        await run.waitFor('ready');
        // A random moment while producing, measured in progress rather than time so a loaded machine still
        // produces; after 10 s it is killed wherever it is.
        const okLines = () => run.lines.filter((l) => l.startsWith('ok ')).length;
        const target = 5 + Math.floor(Math.random() * 40);
        await waitFor('progress', () => okLines() >= target, { timeoutMs: 10_000, intervalMs: 2 }).catch(
          () => undefined,
        );
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        run.kill();
        await run.exited;
        for (const l of run.lines) {
          const [what, a, b] = l.split(' ');
          if (what === 'ok') {
            resolved.add(`${a}/${b}`);
            epochs.add(a ?? '');
          }
          if (what === 'cut') cuts++;
        }
      }
      const drain = runProducer(dir, broker.url, node, 'drain');
      await drain.waitFor('drained');
      expect(await drain.exited).toBe(0);

      const stored = acker.stored.filter((b) => b.node === node);
      const keys = stored.map((b) => `${b.epoch}/${b.seq}`);
      expect(new Set(keys).size).toBe(keys.length);
      const missing = [...resolved].filter((k) => !keys.includes(k));
      expect(missing).toEqual([]);
      // The outbox survived every kill: the epoch changes only where a torn tail was cut at start.
      expect(epochs.size).toBeLessThanOrEqual(1 + cuts);
      expect(resolved.size).toBeGreaterThanOrEqual(KILLS * 5);
      // A kill mid-write may leave a torn tail: cut and reported at the next start, never fatal, and
      // never a resolved record (those were fsynced before their line was printed).
      console.log(
        `sigkill: ${KILLS} kills, ${resolved.size} batches resolved, ${stored.length} stored, ${acker.duplicates} duplicates acked, ${cuts} torn tails cut`,
      );
    },
  );
});
