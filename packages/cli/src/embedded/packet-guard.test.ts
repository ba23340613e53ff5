import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/wait.js';
import { guardPackets, packetScanner } from './packet-guard.js';

/** A packet with a `body`-byte remaining length (header 0x30, MQTT's variable-length integer). */
function packet(body: number): Buffer {
  const len: number[] = [];
  let n = body;
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    len.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(body, 1)]);
}

describe('packetScanner', () => {
  it('follows packet boundaries across chunks of any size and passes packets up to the limit', () => {
    const stream = Buffer.concat([packet(0), packet(127), packet(128), packet(16_384), packet(1000)]);
    for (const size of [1, 2, 3, 7, 1000, stream.length]) {
      const scan = packetScanner(16_384);
      let publishes = 0;
      for (let i = 0; i < stream.length; i += size) {
        const r = scan(stream.subarray(i, i + size));
        expect(r.oversized).toBeUndefined();
        publishes += r.publishes;
      }
      // packet() writes 0x30 headers: PUBLISH, QoS 0.
      expect(publishes).toBe(5);
    }
  });

  it('refuses a packet above the limit at its header, whatever follows and however it is cut', () => {
    const header = packet(16_385).subarray(0, 4);
    for (const size of [1, 2, 4]) {
      const scan = packetScanner(16_384);
      const seen = [];
      for (let i = 0; i < header.length; i += size) seen.push(scan(header.subarray(i, i + size)).oversized);
      expect(seen.filter(Boolean)).toEqual([{ announced: 16_385, limit: 16_384 }]);
    }
    // After valid packets in the same chunk, and with a malformed five-byte length.
    expect(packetScanner(100)(Buffer.concat([packet(10), packet(101)]))).toEqual({
      oversized: { announced: 101, limit: 100 },
      publishes: 2,
    });
    expect(packetScanner(100)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).oversized?.announced).toBe(Infinity);
  });
});

describe('guardPackets', () => {
  // The flood e2e test cannot show this on every machine: a flooder starved by a loaded machine
  // may never send faster than the broker's rate. Here 40 publishes arrive at once against a burst
  // of 5 at 10/s: over the rate unless the reads were spread over 3.5 s.
  it('reads a client over its publish rate slower, tells why once per pause, and passes every packet on', async () => {
    const pauses: number[] = [];
    let passed = 0;
    const scan = packetScanner(1024);
    const server = net.createServer((socket) => {
      const guarded = guardPackets(socket, {
        maxPacketBytes: 1024,
        publishesPerSecond: 10,
        publishBurst: 5,
        onOversized: () => {},
        onThrottled: (ms) => pauses.push(ms),
      });
      guarded.on('data', (chunk: Buffer) => (passed += scan(chunk).publishes));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      client.write(Buffer.concat(Array.from({ length: 40 }, () => packet(100))));
      await waitFor('every publish passed on', () => passed === 40, { timeoutMs: 30_000 });
      expect(pauses.length).toBeGreaterThan(0);
      expect(pauses.every((ms) => ms > 0)).toBe(true);
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
