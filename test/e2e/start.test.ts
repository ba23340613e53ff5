/**
 * The README's first command: `npm start` (here its bin, `edge-telemetry start`) runs the whole
 * pipeline on embedded defaults (aedes, the ingester on chdb, a collector for this machine, and
 * simulated gateways), serves the API, and stops cleanly on Ctrl-C. Its simulated gateways do
 * what a gateway does (a log pull returns their lines); a second `start` on other ports runs its
 * own collector beside the first (no port shared between them); a port that is taken ends a
 * `start` with a message naming it and a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onFreePorts } from '../support/on-free-ports.js';
import { bins, runNode, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'start-test-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

interface NodeRow {
  node: string;
  online: boolean;
  uplinkBytes: number;
}

interface Started {
  proc: RunningProcess;
  api: string;
}

const dirs: string[] = [];
const procs: RunningProcess[] = [];

/**
 * `edge-telemetry start` on free ports and its own data folder; `extra` are more arguments. Not on
 * port 0: the lines it prints (the "add a gateway" one) name the ports it was given. A start whose
 * port was taken before it bound it exits naming it, and is tried again on others
 * (on-free-ports.ts); any other end is the caller's to check.
 */
function start(node: string, extra: string[], env: Record<string, string> = {}): Promise<Started> {
  return onFreePorts(2, async ([port, mqttPort]) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'et-start-'));
    dirs.push(dir);
    const proc = runNode(
      bins.cli,
      ['start', '--port', String(port), '--mqtt-port', String(mqttPort), '--data-dir', dir, ...extra],
      {
        EDGE_TELEMETRY_NODE: node,
        EDGE_TELEMETRY_ADMIN_TOKEN: TOKEN,
        // Short windows so that summaries arrive within the test; the collector reads these over its config file.
        EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '250',
        EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: '1000',
        ...env,
      },
    );
    procs.push(proc);
    // Its ports are bound once it says it runs (or it has exited).
    await Promise.race([
      proc.waitFor(/edge-telemetry is running: API http/, 90_000).catch(() => undefined),
      exited(proc),
    ]);
    const lost = new RegExp(`(API|MQTT) port (${port}|${mqttPort}) is in use`);
    if (proc.child.exitCode !== null && lost.test(proc.output())) throw new Error(proc.output());
    return { proc, api: `http://127.0.0.1:${port}` };
  });
}

const exited = (p: RunningProcess): Promise<number | null> =>
  p.child.exitCode !== null
    ? Promise.resolve(p.child.exitCode)
    : new Promise((resolve) => p.child.once('exit', resolve));

const nodes = async (api: string): Promise<NodeRow[]> =>
  (await (await fetch(`${api}/api/v1/nodes`, { headers: auth })).json()) as NodeRow[];

/** The local node has sent summaries (its collector runs and reaches the ingester). */
const localDelivers = (s: Started, node: string) =>
  waitFor(
    `${node} with summaries in ${s.api}`,
    async () => ((await nodes(s.api)).find((r) => r.node === node && r.uplinkBytes > 0) ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 200 },
  );

describe('edge-telemetry start', () => {
  let first: Started;

  beforeAll(async () => {
    first = await start('start-test-gw', ['--simulate', '2']);
    await first.proc.waitFor(/edge-telemetry is running: API http/, 90_000);
  }, 180_000);

  afterAll(async () => {
    // SIGINT: start stops its children before it exits, so nothing writes into the folders removed next.
    for (const p of procs) await p.stop('SIGINT');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs broker, ingester, a local collector and simulated gateways', async () => {
    await first.proc.waitFor(/collector \/metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/, 30_000);
    const rows = await waitFor(
      'the local node with summaries and two simulated nodes online',
      async () => {
        const r = await nodes(first.api);
        const local = r.find((n) => n.node === 'start-test-gw');
        return local && local.uplinkBytes > 0 && r.filter((n) => n.node.startsWith('sim-') && n.online).length === 2
          ? r
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(rows.map((n) => n.node)).toEqual(expect.arrayContaining(['start-test-gw', 'sim-1', 'sim-2']));
  }, 90_000);

  it('a simulated gateway answers a log pull through the API with its lines', async () => {
    for (const node of ['sim-1', 'sim-2']) {
      // The store seals what it holds into blocks every few seconds; a pull made before the first
      // lines of a fresh gateway finds none, so ask again until one returns lines.
      const lines = await waitFor(
        `a log pull of ${node} with lines`,
        async () => {
          const res = await fetch(`${first.api}/api/v1/nodes/${node}/log-pulls`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ since: '10m', tail: 50 }),
          });
          expect(res.status).toBe(202);
          const { id } = (await res.json()) as { id: string };
          const pull = await waitFor(
            `pull ${id} of ${node} to end`,
            async () => {
              const p = (await (await fetch(`${first.api}/api/v1/log-pulls/${id}`, { headers: auth })).json()) as {
                state: string;
                linesReceived: number;
              };
              return ['done', 'failed', 'expired', 'cancelled'].includes(p.state) ? p : undefined;
            },
            { timeoutMs: 20_000, intervalMs: 200 },
          );
          expect(pull.state).toBe('done');
          if (pull.linesReceived === 0) return undefined;
          const text = await (await fetch(`${first.api}/api/v1/log-pulls/${id}/lines`, { headers: auth })).text();
          return text.split('\n').filter((l) => l !== '');
        },
        { timeoutMs: 45_000, intervalMs: 200 },
      );
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(50);
    }
  }, 120_000);

  it('the "add a gateway" line it prints gives a gateway that connects and delivers', async () => {
    // As a user would: the printed command with an id and this host, its output as the collector's
    // config, the collector bin started on it (its own data folder and metrics port). The printed
    // config once named a TLS CA for an mqtt:// broker (the collector died at start), and asked for
    // MQTT 5, which aedes refuses (the collector retried in silence).
    const line = await first.proc.waitFor(/add a gateway: npx edge-telemetry nodes add/, 30_000);
    const args = line
      .slice(line.indexOf('nodes add'), line.indexOf(' > '))
      .replace('<id>', 'added-gw')
      .replace('<this host>', '127.0.0.1')
      .split(' ');
    const add = runNode(bins.cli, args);
    procs.push(add);
    expect(await exited(add), add.output()).toBe(0);
    // The printed line names start's data dir, so the hint is the embedded broker's, not a Mosquitto reload.
    expect(add.output()).toContain('the node can connect now, no reload');
    // stdout is the config; stderr's notes may come before or after it in the merged output.
    const printed = add.output().slice(add.output().indexOf('{'), add.output().lastIndexOf('}') + 1);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'et-start-added-'));
    dirs.push(dir);
    const file = path.join(dir, 'collector.json');
    await writeFile(file, printed);
    const gateway = runNode(bins.collector, ['--config', file], {
      EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(dir, 'data'),
      EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '0',
      EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '250',
      EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: '1000',
    });
    procs.push(gateway);
    await localDelivers(first, 'added-gw');
    expect(gateway.child.exitCode).toBeNull();
    // The embedded broker refuses MQTT 5: said as the fallback it is (info), not as a failure to connect.
    expect(gateway.output()).toMatch(/"level":"info".*does not speak MQTT 5; connecting with 3\.1\.1/);
    expect(gateway.output()).not.toMatch(/ET_ERR_UPLINK_CONNECT/);
    expect(await gateway.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('a second start on other ports runs its own collector beside the first (no shared metrics port)', async () => {
    const second = await start('start-test-gw2', []);
    await second.proc.waitFor(/edge-telemetry is running: API http/, 90_000);
    await second.proc.waitFor(/collector \/metrics: http/, 30_000);
    await localDelivers(second, 'start-test-gw2');
    // The first one's collector is still there and still delivering.
    expect(first.proc.child.exitCode).toBeNull();
    const before = (await nodes(first.api)).find((r) => r.node === 'start-test-gw')?.uplinkBytes ?? 0;
    await waitFor(
      'the first collector still sending',
      async () =>
        ((await nodes(first.api)).find((r) => r.node === 'start-test-gw')?.uplinkBytes ?? 0) > before
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await second.proc.stop('SIGINT')).toBe(0);
  }, 150_000);

  it('a taken metrics port ends start with a message naming the port and a non-zero exit', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const third = await start('start-test-gw3', ['--metrics-port', String(taken)]);
      const code = await exited(third.proc);
      expect(code).not.toBe(0);
      expect(third.proc.output()).toContain(`127.0.0.1:${taken} is in use`);
      expect(third.proc.output()).toMatch(/start: the collector for this machine exited \(code 1\)/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 120_000);

  it('a collector killed by a signal (the OOM killer) ends start with a message naming it and exit code 1', async () => {
    const fourth = await start('start-test-gw4', []);
    await fourth.proc.waitFor(/collector \/metrics: http/, 90_000);
    // The collector's lock file holds its pid (packages/collector README, one collector per dataDir).
    const lock = await readFile(path.join(dirs.at(-1)!, 'collector', 'collector.lock'), 'utf8');
    process.kill(Number(lock.split(' ')[0]), 'SIGKILL');
    // Before, start said "stopping..." and then waited for ever on the dead child's exit.
    expect(await exited(fourth.proc)).toBe(1);
    expect(fourth.proc.output()).toMatch(/start: the collector for this machine exited \(SIGKILL\)/);
  }, 120_000);

  it('a taken MQTT or API port ends start with a message naming it and exit code 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      for (const [flag, message] of [
        ['--mqtt-port', `MQTT port ${taken} is in use`],
        ['--port', `API port ${taken} is in use`],
      ] as const) {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'et-start-'));
        dirs.push(dir);
        // The other port 0 (any free one, bound at once): only the taken one can be named.
        const other = flag === '--port' ? ['--mqtt-port', '0'] : ['--port', '0'];
        const proc = runNode(bins.cli, ['start', flag, String(taken), ...other, '--data-dir', dir]);
        procs.push(proc);
        expect(await exited(proc)).toBe(1);
        expect(proc.output()).toContain(message);
      }
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 90_000);

  it('stops everything on SIGINT', async () => {
    expect(await first.proc.stop('SIGINT')).toBe(0);
    expect(first.proc.output()).toContain('stopping...');
  }, 60_000);
});
