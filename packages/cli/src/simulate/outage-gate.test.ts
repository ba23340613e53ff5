import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openOutageGate, type OutageGate } from './outage-gate.js';

/** A TCP echo server standing in for the broker: the gate relays bytes and knows nothing of MQTT. */
async function echoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function connect(url: string): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
}

const echo = (s: net.Socket, text: string) =>
  new Promise<string>((resolve) => {
    s.once('data', (d) => resolve(d.toString()));
    s.write(text);
  });

/** Resolves true when the peer closes the socket before `ms`. */
const closedWithin = (s: net.Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

describe('outage gate', () => {
  let gate: OutageGate | undefined;
  let server: Awaited<ReturnType<typeof echoServer>> | undefined;
  afterEach(async () => {
    await gate?.close();
    await server?.close();
  });

  it('relays bytes, cuts the live connection, refuses reconnects until the cut ends, then relays again', async () => {
    server = await echoServer();
    let now = 1_000;
    gate = await openOutageGate(server.url, () => now);
    expect(gate.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);

    const a = await connect(gate.url);
    expect(await echo(a, 'hello')).toBe('hello');
    expect(gate.down).toBe(false);
    // What it says of the connection for the simulator's diagnosis: 5 bytes each way.
    expect(gate.connections()).toEqual([
      { ageMs: 0, up: 5, forwarded: 5, down: 5, upstreamConnecting: false, paused: [] },
    ]);

    gate.cut(now + 5_000);
    expect(gate.down).toBe(true);
    expect(await closedWithin(a, 2000)).toBe(true);
    expect(gate.connections()).toEqual([]);
    // During the cut a new connection is accepted and closed at once, as a dead link looks to a client.
    expect(await closedWithin(await connect(gate.url), 2000)).toBe(true);

    now += 5_000;
    expect(gate.down).toBe(false);
    const b = await connect(gate.url);
    expect(await echo(b, 'back')).toBe('back');
    b.destroy();
  });
});
