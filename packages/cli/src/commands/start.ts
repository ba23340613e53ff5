/**
 * `edge-telemetry start [--simulate N]`: the whole pipeline on embedded defaults, in one process
 * tree: aedes and the ingester (embedded ClickHouse) in this process, a collector for this machine
 * as a child process (the way it runs on a gateway), and optionally N simulated gateways in a
 * second child, each with its full-log store and pull responder like a real gateway. Ctrl-C stops
 * them in order: collectors first, so their last windows get acked. A port that is taken, or a
 * child that dies, ends the whole run with a message and a non-zero exit: never half a pipeline.
 *
 * The broker admits only accounts (embedded/): this run makes one for its collector, one per
 * simulated gateway (in data/broker/passwd, where `nodes add` puts a real gateway's) and one for
 * its ingester (in memory). API and broker bind to loopback unless --host / --mqtt-host say
 * otherwise, each on its own.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultNodeId } from '@edge-telemetry/collector';
import { createIngester, resolveConfig } from '@edge-telemetry/ingester';
import { generatePassword, writePasswordEntries } from '../broker-accounts/password-file.js';
import { accountBook, embeddedPasswordFile } from '../embedded/accounts.js';
import { INGESTER_ACCOUNT } from '../embedded/acl.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../embedded/embedded-broker.js';
import { nodeId } from '../simulate/node-config.js';
import type { CommandIo } from './index.js';

// The package's bin (bin/collector.js), which runs the bundled collector: what the image runs too.
const collectorBin = fileURLToPath(
  import.meta.resolve('@edge-telemetry/collector').replace(/dist\/index\.js$/, 'bin/collector.js'),
);
const cliBin = fileURLToPath(new URL('../bin/edge-telemetry.js', import.meta.url));

/** The options `start` takes (the top-level usage lists each: commands/usage.test.ts). */
export const START_OPTIONS = {
  simulate: { type: 'string', default: '0' },
  // Each listener binds to loopback unless told otherwise, on its own: exposing the API must
  // not expose the broker.
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  'mqtt-host': { type: 'string', default: '127.0.0.1' },
  'mqtt-port': { type: 'string', default: '1883' },
  // 0: any free port, so that two starts never share one; the URL is printed once it listens.
  'metrics-port': { type: 'string', default: '0' },
  'data-dir': { type: 'string', default: './data' },
} as const;

export async function runStart(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: START_OPTIONS });
  const simulate = Number(values.simulate);
  if (!Number.isInteger(simulate) || simulate < 0) {
    io.stderr.write('start: --simulate takes a whole number of gateways\n');
    return 2;
  }
  // A port that is not a number reached the ingester's schema, whose error named its config key
  // (http.port) rather than the option given here.
  for (const option of ['port', 'mqtt-port', 'metrics-port'] as const) {
    const port = Number(values[option]);
    if (!/^\d+$/.test(values[option]) || port > 65535) {
      io.stderr.write(`start: --${option} takes a port number (0-65535), not "${values[option]}"\n`);
      return 2;
    }
  }
  const dataDir = path.resolve(values['data-dir']);
  await mkdir(dataDir, { recursive: true });

  // Accounts: this machine's collector and the simulated gateways in the password file (replaced
  // each run), the ingester's in memory only.
  const node = process.env.EDGE_TELEMETRY_NODE ?? defaultNodeId();
  const passwordFile = embeddedPasswordFile(dataDir);
  await mkdir(path.dirname(passwordFile), { recursive: true });
  const nodeAccounts: [string, string][] = [
    [node, generatePassword()],
    ...Array.from({ length: simulate }, (_, i): [string, string] => [nodeId('sim', i, simulate), generatePassword()]),
  ];
  await writePasswordEntries(passwordFile, nodeAccounts);
  const ingesterPassword = generatePassword();
  const noted = new Set<string>();

  let broker: EmbeddedBroker;
  try {
    broker = await startEmbeddedBroker({
      host: values['mqtt-host'],
      port: Number(values['mqtt-port']),
      accounts: accountBook({ passwordFile, ingesterPassword }),
      // The first refusal of each kind is shown; a flood of them would bury the terminal.
      onRefused: (what, detail) => {
        if (noted.has(what)) return;
        noted.add(what);
        io.stderr.write(`broker: refused a ${what} (${JSON.stringify(detail)}); further ones are not shown\n`);
      },
    });
  } catch (err) {
    io.stderr.write(`start: ${(err as Error).message}\n`);
    return 1;
  }
  let ingester: ReturnType<typeof createIngester>;
  try {
    ingester = createIngester(
      resolveConfig(
        {
          mqtt: {
            url: broker.url,
            protocolVersion: 4,
            clientId: 'et-ingester-embedded',
            username: INGESTER_ACCOUNT,
            password: ingesterPassword,
          },
          clickhouse: { dataDir: path.join(dataDir, 'clickhouse') },
          http: { host: values.host, port: Number(values.port) },
          // Keep the terminal for the URL and token; EDGE_TELEMETRY_INGESTER_LOG_LEVEL=info shows every request.
          logLevel: 'warn',
        },
        process.env,
      ),
    );
  } catch (err) {
    // The embedded engine's directory is taken (another start on this --data-dir) or unusable.
    io.stderr.write(`start: ${(err as Error).message}\n`);
    await broker.close();
    return 1;
  }
  let url: string;
  try {
    ({ url } = await ingester.start());
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    io.stderr.write(
      `start: ${inUse ? `API port ${values.port} is in use; fix: pass --port <free port>` : (err as Error).message}\n`,
    );
    await ingester.stop().catch(() => undefined);
    await broker.close();
    return 1;
  }
  const admin = ingester.auth.adminToken;

  const collectorConfig = path.join(dataDir, 'collector.json');
  await writeFile(
    collectorConfig,
    JSON.stringify(
      {
        node,
        dataDir: path.join(dataDir, 'collector'),
        sources: { docker: { enabled: existsSync('/var/run/docker.sock') } },
        http: { port: Number(values['metrics-port']) },
        uplink: {
          mqtt: {
            url: broker.url,
            protocolVersion: 4,
            username: node,
            password: nodeAccounts[0]![1],
            clientId: node,
          },
        },
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  const credentials = path.join(dataDir, 'simulated-credentials.json');
  if (simulate > 0)
    await writeFile(credentials, JSON.stringify(Object.fromEntries(nodeAccounts.slice(1))), { mode: 0o600 });
  // An IPC channel that closes when this process dies, however it dies: the children stop on it
  // instead of living on as orphans.
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  const children: ChildProcess[] = [spawn(process.execPath, [collectorBin, '--config', collectorConfig], { stdio })];
  if (simulate > 0) {
    children.push(
      spawn(
        process.execPath,
        [
          cliBin,
          'simulate',
          '--nodes',
          String(simulate),
          '--broker',
          broker.url,
          '--mqtt-version',
          '4',
          '--data-dir',
          path.join(dataDir, 'simulated'),
          // A store and a pull responder per gateway: a log pull of a simulated gateway returns its lines.
          '--log-store',
          '--credentials',
          credentials,
        ],
        { stdio },
      ),
    );
  }

  io.stdout.write(
    [
      '',
      `edge-telemetry is running: API ${url}  (OpenAPI: ${url}/docs, web UI: ${url}/ui/)`,
      admin.generated
        ? `  admin token (made for this run; set EDGE_TELEMETRY_ADMIN_TOKEN to choose one): ${admin.token}`
        : '  admin token: the one in EDGE_TELEMETRY_ADMIN_TOKEN',
      `  try: curl -H "Authorization: Bearer <token>" ${url}/api/v1/nodes`,
      `  broker ${broker.url} (aedes, MQTT 3.1.1, an account per node in ${passwordFile}), ClickHouse embedded in ${path.join(dataDir, 'clickhouse')}`,
      `  collector for this machine: node "${node}"${simulate > 0 ? `, plus ${simulate} simulated gateways` : ''}`,
      `  add a gateway: npx edge-telemetry nodes add <id> --password-file ${passwordFile} --data-dir ${dataDir} --broker mqtt://<this host>:${values['mqtt-port']} > collector.json`,
      ...exposure(values.host, values['mqtt-host']),
      '  first summaries arrive at the end of the first 60 s window; Ctrl-C stops everything',
      '',
    ].join('\n'),
  );

  children[0]?.on('message', (m: { type?: string; httpUrl?: string }) => {
    if (m.type === 'ready' && m.httpUrl) io.stdout.write(`  collector /metrics: ${m.httpUrl}/metrics\n`);
  });

  // Ends on Ctrl-C, or when a child exits on its own (its own message, e.g. a taken port, is above).
  const died = await new Promise<string | undefined>((resolve) => {
    process.once('SIGINT', () => resolve(undefined));
    process.once('SIGTERM', () => resolve(undefined));
    children.forEach((c, i) =>
      c.once('exit', (code, signal) =>
        resolve(
          `${i === 0 ? 'the collector for this machine' : 'the simulated gateways'} exited (${signal ?? `code ${code}`})`,
        ),
      ),
    );
  });
  if (died) io.stderr.write(`start: ${died}; stopping everything\n`);
  io.stdout.write('stopping...\n');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          // A child killed by a signal (the OOM killer's SIGKILL) has no exit code: it has exited all the same.
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await ingester.stop();
  await broker.close();
  return died ? 1 : 0;
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || (net.isIP(host) === 4 ? host.startsWith('127.') : host === '::1');

/** What is reachable beyond this machine, said once at start (docs/security.md, "The embedded broker"). */
function exposure(apiHost: string, mqttHost: string): string[] {
  const lines = [];
  if (isLoopback(mqttHost))
    lines.push('  the broker listens on loopback only: --mqtt-host <address> lets gateways of other machines connect');
  else
    lines.push(
      `  WARNING: the broker listens on ${mqttHost} without TLS: node passwords and telemetry cross the network in clear; for gateways beyond a trusted LAN run Mosquitto with TLS (docker/, docs/security.md)`,
    );
  if (!isLoopback(apiHost))
    lines.push(`  the API and web UI listen on ${apiHost} (plain HTTP: bearer tokens cross the network in clear)`);
  return lines;
}
