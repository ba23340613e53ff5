/**
 * Runs the SHIPPED broker configuration (docker/mosquitto/mosquitto.conf and acl) on loopback:
 * only the container paths and ports are rewritten. Certificates come from the shipped
 * docker/mosquitto/make-certs.sh, node accounts from `nodes add`, so the tests exercise exactly
 * what an operator deploys.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { captureIo } from '../../support/io.js';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { runNodesAdd, type CollectorBrokerConfig } from '../../../packages/cli/src/commands/nodes-add.js';
import { generatePassword, writePasswordEntry } from '../../../packages/cli/src/broker-accounts/password-file.js';
import { startMosquitto, type Mosquitto } from '../../support/mosquitto.js';

const MOSQUITTO_DIR = fileURLToPath(new URL('../../../docker/mosquitto/', import.meta.url));
export const MAKE_CERTS = path.join(MOSQUITTO_DIR, 'make-certs.sh');
export const SHIPPED_CONF = path.join(MOSQUITTO_DIR, 'mosquitto.conf');

export interface Credentials {
  username: string;
  password: string;
}

export interface ShippedBroker {
  broker: Mosquitto;
  /** Node listener (TLS, the shipped 8883). */
  tlsUrl: string;
  /** Internal listener (the shipped 1883, for ingesters). */
  internalUrl: string;
  /** Extra mutual-TLS listener, when asked for. */
  mtlsUrl?: string;
  pki: string;
  ca: Buffer;
  nodes: Record<string, Credentials>;
  ingester: Credentials;
  stop(): Promise<void>;
}

/** Runs the shipped make-certs.sh: `makeCerts('server', dir, 'localhost', '127.0.0.1')`. */
export function makeCerts(kind: 'ca' | 'server' | 'client', dir: string, ...args: string[]): void {
  execFileSync('sh', [MAKE_CERTS, kind, dir, ...args], { stdio: 'pipe' });
}

/** The shipped config with container paths pointed at `dir` and listeners bound to loopback ports. */
export function rewriteShippedConfig(conf: string, dir: string, tlsPort: number, internalPort: number): string {
  const rewritten = conf
    .split('\n')
    // The test support file sets persistence to its own temp dir.
    .filter((l) => !/^(persistence|persistence_location|autosave_interval)\b/.test(l))
    .map((l) =>
      l === 'listener 8883'
        ? `listener ${tlsPort} 127.0.0.1`
        : l === 'listener 1883'
          ? `listener ${internalPort} 127.0.0.1`
          : l,
    )
    .join('\n')
    .replaceAll('/mosquitto/config/', `${dir}/`)
    .replaceAll('/mosquitto/certs/', `${dir}/`);
  if (!rewritten.includes(`listener ${tlsPort} `) || !rewritten.includes(`listener ${internalPort} `)) {
    throw new Error('shipped mosquitto.conf no longer has listeners 8883 and 1883: update this harness with it');
  }
  // As root, Mosquitto drops to its own user, which cannot read this test user's 0600 files; in the
  // image the files belong to the mosquitto user instead.
  return `user root\n${rewritten}`;
}

export async function provisionNode(id: string, passwordFile: string): Promise<Credentials> {
  const c = captureIo();
  const code = await runNodesAdd([id, '--password-file', passwordFile], c.io);
  if (code !== 0) throw new Error(`nodes add ${id} exited ${code}`);
  const cfg = JSON.parse(c.out()) as CollectorBrokerConfig;
  return { username: cfg.uplink.mqtt.username, password: cfg.uplink.mqtt.password };
}

/**
 * `shippedQueueLimits`: the shipped inflight and queue limits rather than the suites' (no inflight
 * limit, 100,000 queued), under which a flood test's ingester is sure to receive every message it
 * counts; with the shipped ones Mosquitto drops what a slow ingester has not taken.
 * `maxConnections`: the shipped `max_connections` lines with this value instead: a test cannot
 * open the shipped 8,192 in good time (Mosquitto 2.0 accepted ~130 connections a second on a
 * loaded 2-core machine).
 */
export async function startShippedBroker(
  nodeIds: string[],
  opts: { mtls?: boolean; shippedQueueLimits?: boolean; maxConnections?: number } = {},
): Promise<ShippedBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-shipped-broker-'));
  makeCerts('ca', dir);
  makeCerts('server', dir, 'localhost', '127.0.0.1');
  await copyFile(path.join(MOSQUITTO_DIR, 'acl'), path.join(dir, 'acl'));
  const passwd = path.join(dir, 'passwd');
  const nodes: Record<string, Credentials> = {};
  for (const id of nodeIds) nodes[id] = await provisionNode(id, passwd);
  const ingester = { username: 'ingester', password: generatePassword() };
  // The internal listener's own password file: the ingester's account alone.
  await writePasswordEntry(path.join(dir, 'passwd.ingester'), ingester.username, ingester.password);

  const file = await readFile(SHIPPED_CONF, 'utf8');
  const shipped =
    opts.maxConnections === undefined
      ? file
      : file.replace(/^max_connections \d+$/gm, `max_connections ${opts.maxConnections}`);
  // The shipped node listener with the documented switch flipped: require_certificate true.
  const mtls = (mtlsPort: number) =>
    [
      `listener ${mtlsPort} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${dir}/passwd`,
      `acl_file ${dir}/acl`,
      `certfile ${dir}/server.crt`,
      `keyfile ${dir}/server.key`,
      `cafile ${dir}/ca.crt`,
      'use_username_as_clientid true',
      'require_certificate true',
    ].join('\n');
  // Its internal listener, and the mTLS one, on ports chosen (and chosen again) with the broker's own.
  const broker = await startMosquitto({
    extraPorts: opts.mtls ? 2 : 1,
    ownQueueLimits: opts.shippedQueueLimits === true,
    listenerConfig: (port, _dir, [internal, mtlsPort]) =>
      [rewriteShippedConfig(shipped, dir, port, internal as number), mtlsPort === undefined ? '' : mtls(mtlsPort)].join(
        '\n',
      ),
  });
  const [internalPort, mtlsPort] = broker.extraPorts;
  return {
    broker,
    tlsUrl: `mqtts://127.0.0.1:${broker.port}`,
    internalUrl: `mqtt://127.0.0.1:${internalPort}`,
    ...(mtlsPort !== undefined && { mtlsUrl: `mqtts://127.0.0.1:${mtlsPort}` }),
    pki: dir,
    ca: await readFile(path.join(dir, 'ca.crt')),
    nodes,
    ingester,
    stop: async () => {
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** MQTT's variable-length integer (a fixed header's remaining length). */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return Buffer.from(out);
}

export type ConnectOutcome = { ok: true; client: MqttClient } | { ok: false; reason: string; code?: number };

/** One connection attempt, no reconnects: either a connected client or why it failed. */
export function tryConnect(url: string, opts: IClientOptions): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    // One attempt, so its deadline is what a loaded machine takes for a TLS handshake and a CONNACK.
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 15_000, protocolVersion: 5, ...opts });
    let settled = false;
    const fail = (reason: string, code?: number) => {
      if (settled) return;
      settled = true;
      client.end(true, () => resolve({ ok: false, reason, ...(code !== undefined && { code }) }));
    };
    client.once('connect', () => {
      if (settled) return;
      settled = true;
      resolve({ ok: true, client });
    });
    client.once('error', (err) => fail(err.message, (err as { code?: number }).code));
    client.once('close', () => fail('connection closed before CONNACK'));
  });
}

export async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  const r = await tryConnect(url, opts);
  if (!r.ok) throw new Error(`could not connect to ${url} as ${opts.username ?? '(anonymous)'}: ${r.reason}`);
  return r.client;
}

/**
 * Collects messages; `until` resolves at the first message on the topic, or rejects after
 * `timeoutMs` (30 s unless told: a delivery through a loaded machine's broker) naming what did
 * arrive (a broken rule fails instead of hanging the suite).
 */
export function collect(client: MqttClient): {
  seen: { topic: string; payload: string }[];
  until(topic: string, timeoutMs?: number): Promise<void>;
} {
  const seen: { topic: string; payload: string }[] = [];
  const waiters: { topic: string; resolve: () => void }[] = [];
  client.on('message', (topic, payload) => {
    seen.push({ topic, payload: payload.toString() });
    for (const w of waiters.filter((x) => x.topic === topic)) w.resolve();
  });
  return {
    seen,
    until: (topic, timeoutMs = 30_000) =>
      seen.some((m) => m.topic === topic)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`nothing on ${topic} within ${timeoutMs} ms; seen: ${JSON.stringify(seen)}`)),
              timeoutMs,
            );
            waiters.push({ topic, resolve: () => (clearTimeout(timer), resolve()) });
          }),
  };
}

/** A SUBSCRIBE's SUBACK codes, refusals (0x80) included: mqtt.js rejects a SUBACK with any refusal in it. */
export async function subscribeCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: Array<number | { qos: number }> } }).packet?.granted;
    if (!granted) throw err;
    return granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}
