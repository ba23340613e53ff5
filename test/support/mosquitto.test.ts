import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import mqtt from 'mqtt';
import { haveMosquitto, startMosquitto } from './mosquitto.js';

// Ports the next freePort() calls hand out before the real lookup: a port taken since it was
// looked up, as another process's bind or outgoing connection may take it.
const taken = vi.hoisted(() => [] as number[]);
vi.mock('./ports.js', async (real) => {
  const ports = await real<typeof import('./ports.js')>();
  return { freePort: async () => taken.shift() ?? (await ports.freePort()) };
});

describe.runIf(haveMosquitto())('mosquitto test broker', () => {
  it('starts on a free port, carries a QoS 1 message, and restarts on the same port', async () => {
    const broker = await startMosquitto();
    try {
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
      await client.subscribeAsync('t/#', { qos: 1 });
      await client.publishAsync('t/1', 'hello', { qos: 1 });
      expect(await got).toBe('hello');
      await client.endAsync();
      await broker.restart();
      const again = await mqtt.connectAsync(broker.url);
      expect(again.connected).toBe(true);
      await again.endAsync();
    } finally {
      await broker.stop();
    }
  });

  it('takes another port when its port was taken between the lookup and the bind', async () => {
    // An outgoing connection holds a loopback port without listening on it: the broker's bind fails.
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const outgoing = net.connect(typeof address === 'object' && address ? address.port : 0, '127.0.0.1');
    await new Promise<void>((resolve) => outgoing.once('connect', resolve));
    const held = outgoing.localPort ?? 0;
    taken.push(held);
    try {
      const broker = await startMosquitto();
      try {
        expect(broker.port).not.toBe(held);
        const client = await mqtt.connectAsync(broker.url);
        expect(client.connected).toBe(true);
        await client.endAsync();
      } finally {
        await broker.stop();
      }
    } finally {
      outgoing.destroy();
      server.close();
    }
  });
});
