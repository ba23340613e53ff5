/**
 * Issue 16: the embedded broker refuses a packet above the protocol's largest frame at its fixed
 * header, before buffering it. A 250 MB PUBLISH used to lift the process by 3.7 GiB; here the
 * broker runs alone in a child process and its peak RSS (VmHWM, reset just before) may not rise
 * by more than 64 MiB while a client pushes the 250 MB at it. The largest legitimate batch still
 * passes.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits, topics } from '@edge-telemetry/protocol';
import { MAX_PACKET_BYTES } from '../../../packages/cli/src/embedded/embedded-broker.js';
import { embeddedBrokerProcess, type BrokerProcess } from './brokers.js';
import { collect, connect, remainingLength, type Credentials } from './shipped-broker.js';

const MiB = 1024 * 1024;

const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A 3.1.1 CONNECT with user name and password, clean session, keepalive 30 s. */
function connectPacket(who: Credentials): Buffer {
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2, 0, 30]),
    str(who.username),
    str(who.username),
    str(who.password),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** Connects as `who` over a raw socket, then announces a PUBLISH of `size` bytes and writes it as fast as the socket takes it. */
function pushPublish(url: string, who: Credentials, size: number): Promise<{ written: number; closedEarly: boolean }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let written = 0;
    let closed = false;
    s.once('close', () => {
      closed = true;
      resolve({ written, closedEarly: written < size });
    });
    s.on('error', () => undefined);
    s.once('connect', () => s.write(connectPacket(who)));
    let connack = Buffer.alloc(0);
    const onConnack = (d: Buffer) => {
      connack = Buffer.concat([connack, d]);
      if (connack.length < 4) return;
      s.off('data', onConnack);
      if (connack[0] !== 0x20 || connack[3] !== 0) return reject(new Error(`CONNACK ${connack.toString('hex')}`));
      publish();
    };
    s.on('data', onConnack);
    const publish = () => {
      // PUBLISH QoS 1: fixed header with the remaining length, topic, packet id, then the payload.
      const topic = str(topics.batch(who.username));
      s.write(
        Buffer.concat([Buffer.from([0x32]), remainingLength(topic.length + 2 + size), topic, Buffer.from([0, 1])]),
      );
      const chunk = Buffer.alloc(MiB, 7);
      const pump = () => {
        while (!closed && written < size) {
          written += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        if (!closed) s.end();
      };
      pump();
    };
  });
}

describe('embedded broker packet size limit', () => {
  let b: BrokerProcess;
  let url: string;
  let node: Credentials;
  let ingester: Credentials;

  // The suite's hook deadline (180 s), not 60 s: the broker process alone may take 120 s to start (brokers.ts).
  beforeAll(async () => {
    b = await embeddedBrokerProcess(['gw-big']);
    ({ url, ingester } = b);
    node = b.nodes['gw-big']!;
  });

  afterAll(async () => {
    await b?.stop();
  });

  it('carries the largest batch the protocol allows, and the limit sits just above it', async () => {
    expect(MAX_PACKET_BYTES).toBeGreaterThan(limits.maxBatchWireBytes);
    expect(MAX_PACKET_BYTES).toBeLessThan(limits.maxBatchWireBytes + 64 * 1024);
    const ing = await connect(url, { ...ingester, clientId: 'ing-size', protocolVersion: 4 });
    const got = collect(ing);
    await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    const n = await connect(url, { ...node, clientId: node.username, protocolVersion: 4 });
    await n.publishAsync(topics.batch(node.username), Buffer.alloc(limits.maxBatchWireBytes, 2), { qos: 1 });
    await got.until(topics.batch(node.username));
    expect(got.seen[0]?.payload.length).toBe(limits.maxBatchWireBytes);
    await n.endAsync(true);
    await ing.endAsync(true);
  });

  it('refuses a 250 MB publish at its header: the connection is cut and the RSS rises by less than 64 MiB', async () => {
    const before = await b.memory('VmRSS');
    // Reset the peak: VmHWM then reads the highest RSS from here on.
    await writeFile(`/proc/${b.pid}/clear_refs`, '5');
    const r = await pushPublish(url, node, 250_000_000);
    const peak = await b.memory('VmHWM');
    process.stdout.write(
      `250 MB publish: broker RSS ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - before) / MiB).toFixed(1)} MiB), ${r.written} bytes written before the cut\n`,
    );
    expect(r.closedEarly).toBe(true);
    expect(r.written).toBeLessThan(250_000_000);
    expect(peak - before).toBeLessThan(64 * MiB);
    expect(b.output()).toMatch(/refused packet .*"announced":250000\d+/);
  }, 60_000);
});
