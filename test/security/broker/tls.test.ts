/**
 * Issue 8: TLS to the broker. The node listener of the shipped configuration speaks only TLS; a
 * node verifies the broker's certificate against the fleet CA; client certificates work where
 * the listener requires them. Certificates are made by the shipped make-certs.sh.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto } from '../../support/mosquitto.js';
import { makeCerts, startShippedBroker, tryConnect, type ShippedBroker } from './shipped-broker.js';

describe.runIf(haveMosquitto())('broker TLS (shipped docker/mosquitto config)', () => {
  let b: ShippedBroker;
  let other: string;

  beforeAll(async () => {
    b = await startShippedBroker(['gw-a'], { mtls: true });
    // A second, unrelated CA: what an attacker's broker would present.
    other = await mkdtemp(path.join(os.tmpdir(), 'et-other-ca-'));
    makeCerts('ca', other);
    makeCerts('server', other, 'localhost', '127.0.0.1');
    makeCerts('client', other, 'gw-a');
    makeCerts('client', b.pki, 'gw-a');
  });
  afterAll(async () => {
    await b?.stop();
    if (other) await rm(other, { recursive: true, force: true });
  });

  const creds = () => ({ username: 'gw-a', password: b.nodes['gw-a']?.password ?? '' });

  it('lets a node that verifies the broker certificate against the fleet CA connect', async () => {
    const r = await tryConnect(b.tlsUrl, { ...creds(), ca: b.ca, rejectUnauthorized: true });
    expect(r.ok).toBe(true);
    if (r.ok) await r.client.endAsync();
    // The name checked is the one in the certificate: localhost is in it too.
    const byName = await tryConnect(b.tlsUrl.replace('127.0.0.1', 'localhost'), {
      ...creds(),
      ca: b.ca,
      rejectUnauthorized: true,
    });
    expect(byName.ok).toBe(true);
    if (byName.ok) await byName.client.endAsync();
  });

  it('makes a node refuse a broker whose certificate another CA signed', async () => {
    const r = await tryConnect(b.tlsUrl, {
      ...creds(),
      ca: await readFile(path.join(other, 'ca.crt')),
      rejectUnauthorized: true,
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('refuses plain MQTT on the TLS listener', async () => {
    const r = await tryConnect(b.tlsUrl.replace('mqtts:', 'mqtt:'), creds());
    expect(r.ok).toBe(false);
    // At the byte level: a valid MQTT CONNECT gets no CONNACK, the broker just closes the socket.
    const reply = await new Promise<Buffer>((resolve) => {
      const s = net.connect(b.broker.port, '127.0.0.1', () => {
        // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "x".
        s.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x78]));
      });
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      // A reset is as much a refusal as a close; 'close' follows either way.
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(reply[0]).not.toBe(0x20); // 0x20 = CONNACK
  });

  describe('mutual TLS (require_certificate true)', () => {
    it('refuses a node without a client certificate, even with the right password', async () => {
      const r = await tryConnect(b.mtlsUrl ?? '', { ...creds(), ca: b.ca });
      expect(r.ok).toBe(false);
    });

    it('refuses a client certificate from another CA', async () => {
      const r = await tryConnect(b.mtlsUrl ?? '', {
        ...creds(),
        ca: b.ca,
        key: await readFile(path.join(other, 'gw-a.key')),
        cert: await readFile(path.join(other, 'gw-a.crt')),
      });
      expect(r.ok).toBe(false);
    });

    it('accepts a node presenting a certificate the fleet CA signed, with its password', async () => {
      const r = await tryConnect(b.mtlsUrl ?? '', {
        ...creds(),
        ca: b.ca,
        key: await readFile(path.join(b.pki, 'gw-a.key')),
        cert: await readFile(path.join(b.pki, 'gw-a.crt')),
      });
      expect(r.ok).toBe(true);
      if (r.ok) await r.client.endAsync();
    });
  });
});
