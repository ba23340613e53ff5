/**
 * The README's first command: `npm start` (here its bin, `edge-telemetry start`) runs the whole
 * pipeline on embedded defaults (aedes, the ingester on chdb, a collector for this machine, and
 * simulated gateways), serves the API, and stops cleanly on Ctrl-C.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports.js';
import { bins, runNode, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'start-test-admin-token-0123456789abcdef';

describe('edge-telemetry start', () => {
  let dir: string | undefined;
  let proc: RunningProcess | undefined;

  afterAll(async () => {
    await proc?.stop('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs broker, ingester, a local collector and simulated gateways, then stops on SIGINT', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-start-'));
    const port = await freePort();
    const mqttPort = await freePort();
    proc = runNode(
      bins.cli,
      ['start', '--simulate', '2', '--port', String(port), '--mqtt-port', String(mqttPort), '--data-dir', dir],
      {
        EDGE_TELEMETRY_NODE: 'start-test-gw',
        EDGE_TELEMETRY_ADMIN_TOKEN: TOKEN,
        // Short windows so that summaries arrive within the test; the collector reads these over its config file.
        EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '250',
        EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: '1000',
        EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '0',
      },
    );
    await proc.waitFor(/edge-telemetry is running: API http/, 90_000);
    const api = `http://127.0.0.1:${port}`;
    const nodes = await waitFor(
      'the local node with summaries and two simulated nodes online',
      async () => {
        const rows = (await (
          await fetch(`${api}/api/v1/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })
        ).json()) as Array<{ node: string; online: boolean; uplinkBytes: number }>;
        const local = rows.find((r) => r.node === 'start-test-gw');
        return local && local.uplinkBytes > 0 && rows.filter((r) => r.node.startsWith('sim-') && r.online).length === 2
          ? rows
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(nodes.map((n) => n.node)).toEqual(expect.arrayContaining(['start-test-gw', 'sim-1', 'sim-2']));

    const code = await proc.stop('SIGINT');
    expect(code).toBe(0);
    expect(proc.output()).toContain('stopping...');
  }, 180_000);
});
