/**
 * A simulated node that cannot start (its data directory held by a running collector: `npm run
 * simulate` next to `npm start --simulate N` in one checkout, both under ./data/simulated) is a
 * usage problem with a catalogued error, said in one line. The session-10 trial got the worker's
 * stack trace through an uncaught rejection instead. The CLI bin as a process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bins, runNode } from '../support/processes.js';

describe('simulate: a node that cannot start', () => {
  let dir: string | undefined;
  let holder: ChildProcess | undefined;
  afterAll(async () => {
    holder?.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('says the catalogued error in one line, exit 1, no stack trace', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-sim-locked-'));
    // A running process named in sim-1's lock, as a collector of `start --simulate` would be.
    holder = spawn('sleep', ['600'], { stdio: 'ignore' });
    await mkdir(path.join(dir, 'sim-1'), { recursive: true });
    await writeFile(path.join(dir, 'sim-1', 'collector.lock'), `${holder.pid}\n`);
    const sim = runNode(bins.cli, [
      'simulate',
      '--nodes',
      '1',
      '--broker',
      'mqtt://127.0.0.1:1',
      '--data-dir',
      dir,
      '--duration',
      '5s',
    ]);
    const [code] = (await once(sim.child, 'exit')) as [number | null];
    expect(sim.output()).toMatch(/^simulate: .*ET_ERR_DATA_DIR_LOCKED/m);
    expect(sim.output()).toMatch(/^simulate: .*--data-dir/m);
    expect(sim.output()).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
  }, 120_000);
});
