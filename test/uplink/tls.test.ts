/**
 * TLS and credentials against real Mosquitto: a CA and server certificate made with openssl, a
 * password file made with mosquitto_passwd. The uplink connects only with the CA and the right
 * password, and then publishes.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createUplink, type Uplink } from '../../packages/collector/src/uplink/index.js';
import { testBatch } from './batches.js';
import { waitFor } from '../support/wait.js';

function makePki(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=et-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.pem',
    '-extfile',
    path.join(dir, 'san.cnf'),
  );
}

describe.runIf(haveMosquitto())('uplink over TLS with credentials', () => {
  let broker: Mosquitto;
  let pki: string;
  const uplinks: Uplink[] = [];
  beforeAll(async () => {
    pki = await mkdtemp(path.join(os.tmpdir(), 'et-pki-'));
    execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${path.join(pki, 'san.cnf')}`]);
    makePki(pki);
    execFileSync('mosquitto_passwd', ['-b', '-c', path.join(pki, 'passwd'), 'n-tls', 's3cret'], { stdio: 'ignore' });
    // Started as root, Mosquitto drops to its own user before reading these.
    await chmod(pki, 0o755);
    for (const f of ['ca.pem', 'server.pem', 'server.key', 'passwd']) await chmod(path.join(pki, f), 0o644);
    broker = await startMosquitto({
      listenerConfig: (port) =>
        [
          `listener ${port} 127.0.0.1`,
          `cafile ${pki}/ca.pem`,
          `certfile ${pki}/server.pem`,
          `keyfile ${pki}/server.key`,
          'allow_anonymous false',
          `password_file ${pki}/passwd`,
        ].join('\n'),
    });
  });
  afterAll(async () => {
    for (const u of uplinks) await u.close();
    await broker.stop();
    await rm(pki, { recursive: true, force: true });
  });

  const open = async (password: string, ca: string | undefined): Promise<Uplink> => {
    const dir = await mkdtemp(path.join(pki, 'outbox-'));
    const u = await createUplink({
      node: 'n-tls',
      agentVersion: 'test',
      options: {
        outbox: { dir },
        mqtt: {
          url: `mqtts://127.0.0.1:${broker.port}`,
          username: 'n-tls',
          password,
          reconnectMinMs: 100,
          reconnectMaxMs: 300,
          tls: { ca, rejectUnauthorized: true },
        },
      },
    });
    uplinks.push(u);
    return u;
  };

  it('connects with the CA and the right password, and publishes', async () => {
    const ca = path.join(pki, 'ca.pem');
    const watcher = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      username: 'n-tls',
      password: 's3cret',
      ca: await readFile(ca),
      reconnectPeriod: 0,
    });
    const got: string[] = [];
    watcher.on('message', (t) => got.push(t));
    await watcher.subscribeAsync(topics.batch('n-tls'), { qos: 1 });

    const good = await open('s3cret', ca);
    const wrongPassword = await open('guess', ca);
    const unknownCa = await open('s3cret', undefined);
    await waitFor('the TLS connection', () => good.stats().connected, { timeoutMs: 20_000 });
    await good.submit(testBatch('n-tls', 1), 0);
    await waitFor('the batch over TLS', () => got.length === 1, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(wrongPassword.stats().connected).toBe(false);
    expect(unknownCa.stats().connected).toBe(false);
    await watcher.endAsync(true);
  });
});
