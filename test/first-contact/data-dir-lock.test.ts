/**
 * One process per data directory: a second collector on a collector's dataDir, or a second
 * ingester (or `start`) on an embedded engine's directory, refuses to start with a message that
 * names the directory, the holder and the fix, instead of interleaving outbox groups and cursors
 * or dying on the engine's lock with a stack trace. A lock left by a SIGKILL does not block the
 * next start.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bins, runNode, startIngesterBin, type RunningProcess } from '../support/processes.js';

let dir: string;
const running: RunningProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-data-dir-lock-'));
});
afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Runs a bin to its exit; returns the exit code and what it printed. */
async function exitOf(p: RunningProcess): Promise<{ code: number | null; out: string }> {
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return { code, out: p.output() };
}

describe('one process per data directory', () => {
  it('a second collector on the same dataDir refuses; after a SIGKILL the next one starts', async () => {
    const config = path.join(dir, 'collector.json');
    await writeFile(
      config,
      JSON.stringify({
        node: 'lock-test',
        dataDir: path.join(dir, 'collector'),
        http: { port: 0 },
        sources: { host: { enabled: false }, cgroup: { enabled: false }, docker: { enabled: false } },
        // Nothing listens there: a collector starts and stores without its broker.
        uplink: { mqtt: { url: 'mqtt://127.0.0.1:9' } },
      }),
    );
    const first = runNode(bins.collector, ['--config', config]);
    running.push(first);
    await first.waitFor(/collector started/, 60_000);
    const second = await exitOf(runNode(bins.collector, ['--config', config]));
    expect(second.code).toBe(1);
    expect(second.out).toContain('ET_ERR_DATA_DIR_LOCKED');
    expect(second.out).toContain(`pid ${first.child.pid}`);
    await first.stop('SIGKILL');
    const third = runNode(bins.collector, ['--config', config]);
    running.push(third);
    await third.waitFor(/collector started/, 60_000);
    expect(await third.stop()).toBe(0);
  }, 180_000);

  it('a second ingester on the same embedded engine directory refuses with the fix', async () => {
    const first = await startIngesterBin({
      dir,
      brokerUrl: 'mqtt://127.0.0.1:9',
      clientId: 'et-lock-test-1',
      token: 'lock-test-token-0123456789abcdef',
    });
    running.push(first.proc);
    const second = await exitOf(runNode(bins.ingester, ['--config', path.join(dir, 'ingester.json')]));
    expect(second.code).toBe(1);
    expect(second.out).toMatch(/^ET_ERR_DATA_DIR_LOCKED: .*clickhouse\.dataDir/m);
    expect(second.out).not.toMatch(/\n\s+at /);
    // Only the ingester's error: not the engine's own line from native code ahead of it.
    expect(second.out).not.toContain('Code: 76');
  }, 240_000);
});
