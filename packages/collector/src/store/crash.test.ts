import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogStore } from './log-store.js';
import { logStoreOptions } from './options.js';

// The writer runs on the built package (`npm test` builds first): a restart must not cost a compile.
const writer = new URL('../../fixtures/logs/store-crash-writer.mjs', import.meta.url).pathname;
const built = new URL('../../dist/store/log-store.js', import.meta.url).pathname;
const RUNS = 20;

/** Runs the writer until it has acked a few times, kills it with SIGKILL mid-write, returns its last ack. */
function runAndKill(dir: string, run: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    let acks = 0;
    // Kill after a varying number of acks; the child is then mid-way through its next batch.
    const killAfter = 1 + ((run * 7919) % 6);
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [word, r, n] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (word === 'acked' && Number(r) === run) {
          acked = Number(n);
          if (++acks === killAfter) child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL'
        ? resolve(acked)
        : reject(new Error(`writer exited without being killed (${String(_code)})`)),
    );
  });
}

describe('LogStore under kill -9', () => {
  it('has the built writer to run', () => {
    expect(existsSync(built), `${built} missing: run \`npx tsc -b packages/collector\` first`).toBe(true);
  });

  it(`keeps every acknowledged line over ${RUNS} crashes and accepts writes after`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'et-store-crash-'));
    try {
      const acked: number[] = [];
      for (let run = 0; run < RUNS; run++) acked.push(await runAndKill(dir, run));
      const store = await LogStore.open(
        logStoreOptions({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 64 * 1024, blockBytes: 4096 }),
      );
      const seen = new Map<number, Set<number>>();
      for await (const r of store.query({ since: 0 })) {
        const m = /^run (\d+) line (\d+)/.exec(r.line);
        if (m === null) continue;
        const run = Number(m[1]);
        if (!seen.has(run)) seen.set(run, new Set());
        seen.get(run)?.add(Number(m[2]));
      }
      for (let run = 0; run < RUNS; run++) {
        expect(acked[run]).toBeGreaterThan(0);
        const got = seen.get(run) ?? new Set<number>();
        const missing = Array.from({ length: acked[run] as number }, (_, i) => i).filter((i) => !got.has(i));
        expect(missing, `run ${run}`).toEqual([]);
      }
      store.append({ ts: Date.now(), container: 'c', stream: 'stdout', level: 2, line: 'after the crashes' });
      await store.flush();
      const last: string[] = [];
      for await (const r of store.query({ since: 0, grep: 'after the crashes' })) last.push(r.line);
      expect(last).toEqual(['after the crashes']);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
