import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';
import type { OutboxOptions } from './options.js';

// The child runs on the built package (`npm test` builds first): one start per crash point.
const child = new URL('../../../fixtures/outbox/crash-at.mjs', import.meta.url).pathname;
const built = new URL('../../../dist/uplink/outbox/outbox.js', import.meta.url).pathname;
const opts = (dir: string): OutboxOptions => ({ dir, capBytes: 1 << 20, recordCapBytes: 4096, segmentBytes: 1 << 20 });
// More than recordCapBytes: the positions of thousands of log files.
const BIG = 5000;

/** Runs the child to its `at`-th file-system change; true when it finished before reaching it. */
function runTo(dir: string, at: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, String(at), String(BIG)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(false);
      else if (code === 0 && out === 'done\n') resolve(true);
      else reject(new Error(`crash-at exited ${String(code)} without being killed`));
    });
  });
}

describe('Outbox under kill -9 while appending a group with an oversized cursor', () => {
  it('has the built child to run', () => {
    expect(existsSync(built), `${built} missing: run \`npx tsc -b packages/collector\` first`).toBe(true);
  });

  it('has, after a crash at any step, the group and its cursor on disk together or neither', async () => {
    const outcomes: string[] = [];
    for (let at = 1; ; at++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-outbox-crash-'));
      try {
        const before = await Outbox.open(opts(dir));
        const old = before.nextSeq();
        await before.appendGroup(
          [{ epoch: before.epoch, seq: old, priorityClass: 0, createdAt: 1, payload: Buffer.alloc(100) }],
          Buffer.from('old'),
        );
        await before.close();

        const finished = await runTo(dir, at);
        const after = await Outbox.open(opts(dir));
        const seqs = after.unacked().map((r) => r.seq);
        const cursor = after.cursor()?.toString();
        await after.close();
        // A cursor left waiting for its group is settled at open: taken or dropped, never kept.
        expect((await readdir(dir)).filter((n) => n.startsWith('cursor.') && n !== 'cursor.tmp')).toEqual([]);
        // Either the seal happened (its three batches and the cursor past their lines) or it did
        // not (the lines are read again from the old cursor): never the batches with the old
        // cursor, which seals those windows again under new seqs, stored twice.
        const sealed = cursor === 'n'.repeat(BIG);
        outcomes.push(sealed ? 'sealed' : 'not');
        expect({ at, seqs, cursor: sealed ? 'new' : cursor }).toEqual({
          at,
          seqs: sealed ? [old, old + 1, old + 2, old + 3] : [old],
          cursor: sealed ? 'new' : 'old',
        });
        if (finished) break;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    // One point where the seal becomes durable, crossed by the walk: before it never, after it always.
    expect(outcomes.join(' ')).toMatch(/^(not )+sealed( sealed)*$/);
  });
});
