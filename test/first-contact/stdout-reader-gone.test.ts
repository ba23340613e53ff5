/**
 * The ingester's stdout read by something that went away (`| head`, a log shipper restarted): what
 * it would have printed is lost, but it must go on and stop cleanly on SIGTERM. Its start line to
 * a closed pipe was an unhandled EPIPE that took the process down (exit 1).
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onFreePorts } from '../support/on-free-ports.js';
import { bins, runNode, type RunningProcess } from '../support/processes.js';
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

describe('the ingester with its stdout reader gone', () => {
  it('starts, answers, and exits 0 on SIGTERM', async () => {
    // Its stdout is closed before it prints anything: the API's port is chosen here, not printed.
    const { proc, api } = await onFreePorts(1, async (ports) => {
      const port = ports[0] as number;
      const file = path.join(dir, `ingester-${port}.json`);
      await writeFile(
        file,
        JSON.stringify({
          // Nothing listens there: the ingester starts and serves without its broker.
          mqtt: { url: 'mqtt://127.0.0.1:9', protocolVersion: 5, clientId: 'et-stdout-gone' },
          clickhouse: { dataDir: path.join(dir, 'ch') },
          http: { port },
        }),
      );
      const proc = runNode(bins.ingester, ['--config', file], {
        EDGE_TELEMETRY_ADMIN_TOKEN: 'stdout-gone-token-0123456789abcdef',
      });
      running.push(proc);
      proc.child.stdout?.destroy();
      const api = `http://127.0.0.1:${port}`;
      try {
        // Migrations on the embedded engine took over a minute at load 20.
        const up = await waitFor(
          () =>
            `the ingester to answer on ${api} (exit ${proc.child.exitCode} ${proc.child.signalCode} pid ${proc.child.pid}); stderr:\n${proc.output()}`,
          async () =>
            proc.child.exitCode !== null ? 'exited' : (await fetch(`${api}/healthz`).catch(() => undefined))?.ok,
          { timeoutMs: 120_000, intervalMs: 200 },
        );
        if (up === 'exited') throw new Error(`the ingester exited ${proc.child.exitCode}; stderr:\n${proc.output()}`);
      } catch (err) {
        await proc.stop('SIGKILL');
        // Its own words on the port went to the closed stdout: asked here instead.
        if (await taken(port)) throw new Error(`port ${port} is in use`, { cause: err });
        throw err;
      }
      return { proc, api };
    });
    // It printed its start line, and logged, into the closed pipe as it began to answer.
    expect((await fetch(`${api}/healthz`)).ok).toBe(true);
    const exited = once(proc.child, 'exit');
    proc.child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, stderr: proc.output() }).toEqual({ code: 0, signal: null, stderr: '' });
  }, 300_000);
});
