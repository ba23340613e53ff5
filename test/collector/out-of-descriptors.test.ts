/**
 * Out of file descriptors (EMFILE: containerd's default soft limit is 1,024, and a gateway's
 * collector tails many files), the collector keeps running. Node reads its own memory from /proc,
 * which takes a descriptor: the twice-a-second memory sample threw from its timer and ended the
 * process. Shown with the real bin: its descriptor limit lowered under what it holds (prlimit), so
 * every open fails for a few seconds, then raised again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { runCollector, type CollectorRun } from './rig.js';

const havePrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (process.env.CI && !havePrlimit) throw new Error('CI must run the descriptor test: prlimit (util-linux) is missing');

const nofile = (pid: number, limit?: string): string =>
  execFileSync('prlimit', [
    '--pid',
    String(pid),
    limit === undefined ? '--nofile' : `--nofile=${limit}`,
    '--output',
    'SOFT,HARD',
    '--noheadings',
  ])
    .toString()
    .trim()
    .replace(/\s+/, ':');

describe.runIf(havePrlimit && haveMosquitto())('collector out of file descriptors', () => {
  let dir = '';
  let broker: Mosquitto;
  let run: CollectorRun | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-fds-'));
    broker = await startMosquitto();
  }, 60_000);

  afterAll(async () => {
    await run?.stop('SIGKILL');
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps running, counts the failed memory samples and says so once, and serves /metrics again after', async () => {
    run = await runCollector({
      dir,
      node: 'fds-gw',
      dockerRoot: path.join(dir, 'none'),
      brokerUrl: broker.url,
      config: { scrapeIntervalMs: 1000, downsample: { windowMs: 2000 } },
    });
    const r = run;
    await waitFor(
      () => `the collector to start; output:\n${r.output()}`,
      () => r.output().includes('"msg":"collector started"'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const pid = r.child.pid!;
    const before = nofile(pid);
    // 3: stdin, stdout and stderr are taken, so every new descriptor is refused.
    execFileSync('prlimit', ['--pid', String(pid), '--nofile=3:' + before.split(':')[1]]);
    try {
      // Samples every 500 ms: wait for the first failure to be said, then for several more.
      await waitFor(
        () => `a failed memory sample said; output:\n${r.output().slice(-3000)}`,
        () => {
          if (r.child.exitCode !== null || r.child.signalCode !== null)
            throw new Error(
              `the collector ended (${r.child.exitCode ?? r.child.signalCode}):\n${r.output().slice(-3000)}`,
            );
          return r.output().includes('"msg":"memory sample failed');
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(r.child.exitCode, r.output().slice(-3000)).toBeNull();
      expect(r.child.signalCode).toBeNull();
    } finally {
      if (r.child.exitCode === null && r.child.signalCode === null) nofile(pid, before);
    }
    let failures: number | undefined;
    await waitFor(
      () => `/metrics with the failures counted (${failures}); output:\n${r.output().slice(-3000)}`,
      async () => {
        failures = await r.metric('memory.sample_failures');
        return failures !== undefined && failures >= 1;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Said once for the whole run of failures, not twice a second.
    expect(r.output().match(/"msg":"memory sample failed/g)?.length).toBe(1);
    expect(r.child.exitCode).toBeNull();
    expect(await r.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
