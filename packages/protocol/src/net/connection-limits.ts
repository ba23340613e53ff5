/**
 * Caps on the connections a listening server holds, in total and per client address. Every open
 * connection is a file descriptor of the process, and the process's descriptors are shared with
 * what it must keep doing for everyone: the embedded ClickHouse engine's files and epoll, the
 * broker connection. Without a cap, one client that opened connections and sent nothing took them
 * all (20,000 idle sockets to the API: every insert failed with "Too many open files" and the API
 * answered no one until the client let go). The per-address cap keeps one client from taking every
 * slot of the total from the others.
 */
import type { Server, Socket } from 'node:net';
import { createTally } from './tally.js';

export interface ConnectionCaps {
  /** Connections held at once; the next is closed as it is accepted. */
  maxConnections: number;
  /** Connections held at once from one client address (Infinity: no per-address cap). */
  maxConnectionsPerAddress: number;
}

export type ConnectionRefusal = 'total' | 'address';

export interface ConnectionGate {
  /** Whether to serve a connection just accepted; a refused one is destroyed here. */
  admit(socket: Socket): boolean;
  /** Connections closed at once, by the cap they met. */
  refused(): Record<ConnectionRefusal, number>;
}

type OnRefused = (why: ConnectionRefusal, address: string | undefined) => void;

/**
 * The caps over every connection given to `admit`, from any number of listeners: one total and one
 * count per address for all of them (the OTLP receiver's HTTP and gRPC ports), so a client cannot
 * get around a cap by switching port. The listener runs `admit` first on each connection it
 * accepts (guardServer, for a server whose connection handler is not the caller's).
 */
export function createConnectionGate(caps: ConnectionCaps, onRefused?: OnRefused): ConnectionGate {
  const held = createTally();
  let total = 0;
  const refused: Record<ConnectionRefusal, number> = { total: 0, address: 0 };
  const admit = (socket: Socket): boolean => {
    const address = clientKey(socket.remoteAddress);
    const n = held.get(address);
    const why = total >= caps.maxConnections ? 'total' : n >= caps.maxConnectionsPerAddress ? 'address' : undefined;
    if (why) {
      refused[why]++;
      onRefused?.(why, socket.remoteAddress);
      socket.destroy();
      return false;
    }
    total++;
    held.add(address, 1);
    socket.once('close', () => {
      total--;
      held.add(address, -1);
    });
    return true;
  };
  return { admit, refused: () => ({ ...refused }) };
}

/** Runs `gate` first on every connection of a server whose connection handler is not the caller's (an HTTP server's is Node's). */
export function guardServer(server: Server, gate: ConnectionGate): void {
  server.prependListener('connection', (socket: Socket) => void gate.admit(socket));
}

/**
 * The per-address cap's key: an IPv4 address (also written IPv4-mapped, `::ffff:a.b.c.d`), or an
 * IPv6 address's /64, the block one client is given (a host picks any address in it, so keyed
 * whole it would evade the cap and fill the total). The OTLP receiver's fair share keys clients by it too.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!address.includes(':')) return address;
  const bare = address.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':');
}
