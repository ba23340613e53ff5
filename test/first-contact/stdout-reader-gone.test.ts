/**
 * A bin's stdout or stderr read by something that went away (`| head`, a log shipper restarted):
 * what it would have printed is lost, nothing more. Each bin's first write to such a pipe was an
 * unhandled EPIPE that took the process down (exit 1): the ingester's start line, the collector's
 * first log line, the command line's output or usage. The services must go on and stop cleanly on
 * SIGTERM; a command must end as it would have.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onFreePorts } from '../support/on-free-ports.js';
import { bins, cliIntoHeadOne, runNode, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

let dir: string;
const running: RunningProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-stdout-gone-'));
});
afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Whether something else listens on `port` now. */
const taken = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });

type Out = 'stdout' | 'stderr';

/**
 * How long a bin may take to stop on SIGTERM: a clean stop flushes and closes stores and sessions,
 * which took over 10 s at load 20 (support/processes.ts gives it 45 s before a SIGKILL).
 */
const STOP_MS = 60_000;

/**
 * Runs `bin` on a configuration that `config(port, file)` writes, with the `closed` pipes' reader
 * gone before it prints anything, until its /healthz on that port answers; then stops it with
 * SIGTERM and returns how it exited (within STOP_MS: a bin that hangs on its closed output fails
 * the case, naming it) and what it printed on a pipe left open (none when both are closed).
 */
async function serveAndStop(
  name: string,
  bin: string,
  closed: Out[],
  config: (port: number) => unknown,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output?: string }> {
  const proc = await onFreePorts(1, async (ports) => {
    const port = ports[0] as number;
    const file = path.join(dir, `${name}-${port}.json`);
    await writeFile(file, JSON.stringify(config(port)));
    const proc = runNode(bin, ['--config', file], env);
    running.push(proc);
    for (const out of closed) proc.child[out]?.destroy();
    const url = `http://127.0.0.1:${port}/healthz`;
    const exit = () => `exit ${proc.child.exitCode} ${proc.child.signalCode} pid ${proc.child.pid}`;
    try {
      // The ingester's migrations on the embedded engine took over a minute at load 20.
      const up = await waitFor(
        () => `the ${name} to answer on ${url} (${exit()}); output:\n${proc.output()}`,
        async () => (proc.child.exitCode !== null ? 'exited' : (await fetch(url).catch(() => undefined))?.ok),
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      if (up === 'exited') throw new Error(`the ${name} exited (${exit()}); output:\n${proc.output()}`);
    } catch (err) {
      await proc.stop('SIGKILL');
      // Its own words on the port may have gone to a closed pipe: asked here instead.
      if (await taken(port)) throw new Error(`port ${port} is in use`, { cause: err });
      throw err;
    }
    return proc;
  });
  proc.child.kill('SIGTERM');
  const { exitCode: code, signalCode: signal } = await waitFor(
    `the ${name} to exit on SIGTERM within ${STOP_MS} ms`,
    () => (proc.child.exitCode !== null || proc.child.signalCode !== null) && proc.child,
    { timeoutMs: STOP_MS, intervalMs: 100 },
  );
  return { code, signal, ...(closed.length < 2 ? { output: proc.output() } : {}) };
}

/** Runs `edge-telemetry args` to its end with the `closed` pipes' reader gone before it prints anything. */
async function command(args: string[], closed: Out[]): Promise<{ code: number | null; output: string }> {
  const proc = runNode(bins.cli, args);
  for (const out of closed) proc.child[out]?.destroy();
  const [code] = (await once(proc.child, 'exit')) as [number | null];
  return { code, output: proc.output() };
}

describe('bins with the reader of their output gone', () => {
  it('the ingester starts, answers, and exits 0 on SIGTERM', async () => {
    // It prints its start line, and logs, into the closed pipe as it begins to answer.
    const ended = await serveAndStop(
      'ingester',
      bins.ingester,
      ['stdout'],
      (port) => ({
        // Nothing listens there: the ingester starts and serves without its broker.
        mqtt: { url: 'mqtt://127.0.0.1:9', protocolVersion: 5, clientId: 'et-stdout-gone' },
        clickhouse: { dataDir: path.join(dir, 'ch') },
        http: { port },
      }),
      { EDGE_TELEMETRY_ADMIN_TOKEN: 'stdout-gone-token-0123456789abcdef' },
    );
    expect(ended).toEqual({ code: 0, signal: null, output: '' });
  }, 300_000);

  it('the collector starts, answers, and exits 0 on SIGTERM', async () => {
    // Its log lines ("collector started", "stopping") go to stderr.
    const ended = await serveAndStop('collector', bins.collector, ['stdout', 'stderr'], (port) => ({
      node: 'stdout-gone',
      dataDir: path.join(dir, 'collector'),
      http: { port },
      sources: { host: { enabled: false }, cgroup: { enabled: false }, docker: { enabled: false } },
      // Nothing listens there: a collector starts and stores without its broker.
      uplink: { mqtt: { url: 'mqtt://127.0.0.1:9' } },
    }));
    // Both pipes closed, nothing of what it printed can be read: that it lived on after its lines
    // went to them, answering, and stopped cleanly (exit 0, not killed, within STOP_MS) is what counts.
    expect(ended).toEqual({ code: 0, signal: null });
  }, 300_000);

  it('the command line ends with the exit code it would have', async () => {
    // One write of 37 kB to a pipe nobody reads; the usage (exit 0 when asked with no command) to stderr.
    expect(await command(['config', 'options', 'collector'], ['stdout'])).toEqual({ code: 0, output: '' });
    expect(await command([], ['stderr'])).toEqual({ code: 0, output: '' });
    expect(await command(['no-such-command'], ['stderr'])).toEqual({ code: 2, output: '' });
  }, 120_000);

  it('`edge-telemetry logs templates <file> | head -1` prints one line and exits 0', async () => {
    // Output well past a pipe's 64 KiB buffer, so writes go on after head has gone.
    const file = path.join(dir, 'workers.log');
    await writeFile(file, Array.from({ length: 5000 }, (_, i) => `worker ${i} started on port ${8000 + i}\n`).join(''));
    const { code, out, err } = await cliIntoHeadOne(['logs', 'templates', file]);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual({
      line: 1,
      templateId: expect.any(String),
      template: 'worker <*> started on port <*>',
    });
  }, 120_000);
});
