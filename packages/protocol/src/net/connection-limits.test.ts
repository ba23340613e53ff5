import { EventEmitter } from 'node:events';
import net, { type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnectionGate, guardServer, type ConnectionGate, type ConnectionRefusal } from './index.js';

const servers: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** What the listeners saw, in order: each connection's remote address and whether the gate let it be served. */
interface Seen {
  address: string | undefined;
  served: boolean;
  socket: Socket;
}

/**
 * One gate over two listeners, as the OTLP receiver has: an IPv4 one whose connection handler is not
 * ours (guardServer), and an IPv6 one that admits in its own handler, where an IPv4 client is seen
 * IPv4-mapped (`::ffff:127.0.0.2`).
 */
async function twoListeners(gate: ConnectionGate) {
  const seen: Seen[] = [];
  const v4 = net.createServer();
  guardServer(v4, gate);
  v4.on('connection', (socket: Socket) =>
    seen.push({ address: socket.remoteAddress, served: !socket.destroyed, socket }),
  );
  const v6 = net.createServer((socket) =>
    seen.push({ address: socket.remoteAddress, served: gate.admit(socket), socket }),
  );
  servers.push(v4, v6);
  await new Promise<void>((r) => v4.listen(0, '127.0.0.1', r));
  // An IPv6 socket on loopback only: IPv4 clients are seen IPv4-mapped.
  await new Promise<void>((r) => v6.listen(0, '::ffff:127.0.0.1', r));
  const port = (s: Server) => (s.address() as net.AddressInfo).port;
  /** A connection from `from` (any 127/8 address is loopback) to one listener, once that listener has seen it. */
  const connect = async (to: 'v4' | 'v6', from: string): Promise<Seen> => {
    const before = seen.length;
    const client = net.connect({ host: '127.0.0.1', port: port(to === 'v4' ? v4 : v6), localAddress: from });
    // A refused one is reset by the server.
    client.on('error', () => undefined);
    clients.push(client);
    while (seen.length === before) await new Promise((r) => setTimeout(r, 5));
    return seen[before] as Seen;
  };
  return { connect };
}

describe('connection caps', () => {
  it('caps the total and each address over every listener of a gate, an IPv4-mapped address as its IPv4', async () => {
    const refusals: Array<[ConnectionRefusal, string | undefined]> = [];
    const gate = createConnectionGate({ maxConnections: 4, maxConnectionsPerAddress: 2 }, (why, address) =>
      refusals.push([why, address]),
    );
    const { connect } = await twoListeners(gate);
    expect(await connect('v4', '127.0.0.2')).toMatchObject({ address: '127.0.0.2', served: true });
    expect(await connect('v6', '127.0.0.2')).toMatchObject({ address: '::ffff:127.0.0.2', served: true });
    // The same client on either port, in either form: its third connection is closed as accepted.
    const third = await connect('v6', '127.0.0.2');
    expect(third.served).toBe(false);
    expect(third.socket.destroyed).toBe(true);
    expect((await connect('v4', '127.0.0.3')).served).toBe(true);
    const fourth = await connect('v6', '127.0.0.3');
    expect(fourth.served).toBe(true);
    // Four held: a new address meets the total.
    expect((await connect('v4', '127.0.0.4')).served).toBe(false);
    expect(refusals).toEqual([
      ['address', '::ffff:127.0.0.2'],
      ['total', '127.0.0.4'],
    ]);
    expect(gate.refused()).toEqual({ total: 1, address: 1 });
    // A connection that closes gives its place back.
    fourth.socket.destroy();
    await new Promise((r) => fourth.socket.once('close', r));
    expect((await connect('v4', '127.0.0.4')).served).toBe(true);
  }, 30_000);

  /**
   * Only ::1 is an IPv6 address of this loopback, so an IPv6 client's /64 is shown with stand-ins
   * for the sockets: the gate reads a socket's remote address and its close, and destroys it.
   */
  it('counts an IPv6 client by its /64, the block one client is given', () => {
    const gate = createConnectionGate({ maxConnections: 100, maxConnectionsPerAddress: 1 });
    const from = (remoteAddress: string) =>
      Object.assign(new EventEmitter(), { remoteAddress, destroy: () => undefined }) as unknown as Socket;
    const first = from('2001:db8:1:2:aaaa::1');
    expect(gate.admit(first)).toBe(true);
    for (const same of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002::', '2001:db8:1:2::'])
      expect(gate.admit(from(same))).toBe(false);
    expect(gate.admit(from('2001:db8:1:3::1'))).toBe(true);
    expect(gate.admit(from('2001:db8::5'))).toBe(true);
    expect(gate.admit(from('2001:db8:0:0:1::'))).toBe(false);
    expect(gate.admit(from('fe80::1%eth0'))).toBe(true);
    expect(gate.admit(from('fe80::2'))).toBe(false);
    expect(gate.admit(from('10.0.0.7'))).toBe(true);
    expect(gate.admit(from('::ffff:10.0.0.7'))).toBe(false);
    expect(gate.refused()).toEqual({ total: 0, address: 6 });
    first.emit('close');
    expect(gate.admit(from('2001:db8:1:2::9'))).toBe(true);
  });
});
