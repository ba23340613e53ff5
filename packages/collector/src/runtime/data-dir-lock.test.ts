import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';
import { waitFor } from '../../../../test/support/wait.js';

/** Field 3 (state) and field 22 (start time) of /proc/<pid>/stat, undefined once it is gone. */
async function procStat(pid: number): Promise<{ state: string; started: string } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '', started: f[19] ?? '' };
}

describe('lockDataDir', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-lock-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a path under /proc (where a recursive mkdir never returns)', () => '/proc/et-no-such/data'],
    ['a regular file', () => path.join(dir, 'file')],
    ['a path under a regular file', () => path.join(dir, 'file', 'data')],
  ])('refuses %s at once, naming the option', async (_what, at) => {
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(lockDataDir(at())).rejects.toMatchObject({
      code: 'ET_ERR_DATA_DIR_UNUSABLE',
      message: expect.stringContaining(`dataDir ${at()}:`),
    });
  });

  it('creates missing levels and refuses a second lock while the first holder runs', async () => {
    const data = path.join(dir, 'a', 'b');
    const lock = await lockDataDir(data);
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    const pid = sleeper.pid ?? 0;
    const live = await waitFor('the sleeper to run', () => procStat(pid));
    await lock.release();
    await writeFile(path.join(data, 'collector.lock'), `${pid} ${live.started}\n`);
    await expect(lockDataDir(data)).rejects.toMatchObject({ code: 'ET_ERR_DATA_DIR_LOCKED' });
  });

  it('takes over a lock whose holder is a zombie (killed, not yet reaped)', async () => {
    // sh starts a child and becomes `sleep`, which never reaps it: the child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    let out = '';
    parent.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    const pid = await waitFor('the child pid', () => Number(out.trim()) || undefined);
    const zombie = await waitFor('the child to be a zombie', async () => {
      const s = await procStat(pid);
      return s?.state === 'Z' ? s : undefined;
    });
    await writeFile(path.join(dir, 'collector.lock'), `${pid} ${zombie.started}\n`);
    const lock = await lockDataDir(dir);
    expect(await readFile(path.join(dir, 'collector.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });
});
