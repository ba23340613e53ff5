/**
 * A TCP relay on loopback in front of the broker for one simulated node, so that the simulator can
 * cut that node's connection the way a dropped 4G link does: the socket dies and reconnects fail
 * until the cut ends. The collector notices on its own (its transport reconnects with backoff, its
 * outbox holds the backlog), with nothing in the collector told about the simulation.
 * TLS passes through untouched, so with mqtts:// the broker certificate must be valid for 127.0.0.1.
 */
import net from 'node:net';

export interface GateConnection {
  /** Since the gate took it (ms). */
  ageMs: number;
  /** Bytes from the node, and forwarded to the broker; bytes from the broker. */
  up: number;
  forwarded: number;
  down: number;
  /** The gate's connection to the broker is still being made. */
  upstreamConnecting: boolean;
  /** A side the gate stopped reading (its pipe waits for the other side to drain). */
  paused: Array<'node' | 'broker'>;
}

export interface OutageGate {
  /** mqtt://127.0.0.1:<port> (or mqtts://), for the node's configuration. */
  url: string;
  /** Destroys the node's connections and refuses new ones until `untilMs` (Date.now() clock). */
  cut(untilMs: number): void;
  readonly down: boolean;
  /** The node's connections through the gate (for diagnosis). */
  connections(): GateConnection[];
  close(): Promise<void>;
}

export async function openOutageGate(brokerUrl: string, now: () => number = Date.now): Promise<OutageGate> {
  const broker = new URL(brokerUrl);
  const port = Number(broker.port || (broker.protocol === 'mqtts:' ? 8883 : 1883));
  const host = broker.hostname;
  const pairs = new Set<net.Socket>();
  const open = new Map<
    net.Socket,
    { at: number; up: number; down: number; client: net.Socket; upstream: net.Socket }
  >();
  let downUntil = 0;

  const server = net.createServer((client) => {
    if (now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, host);
    const pair = { at: now(), up: 0, down: 0, client, upstream };
    open.set(client, pair);
    client.on('data', (b: Buffer) => (pair.up += b.length));
    upstream.on('data', (b: Buffer) => (pair.down += b.length));
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
      pairs.delete(upstream);
      open.delete(client);
    };
    for (const s of [client, upstream]) {
      pairs.add(s);
      s.setNoDelay(true);
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: local } = server.address() as net.AddressInfo;

  return {
    url: `${broker.protocol}//127.0.0.1:${local}`,
    cut(untilMs) {
      downUntil = Math.max(downUntil, untilMs);
      for (const s of pairs) s.destroy();
      pairs.clear();
      open.clear();
    },
    get down() {
      return now() < downUntil;
    },
    connections: () =>
      [...open.values()].map((c) => ({
        ageMs: now() - c.at,
        up: c.up,
        forwarded: c.upstream.bytesWritten,
        down: c.down,
        upstreamConnecting: c.upstream.connecting,
        paused: [
          ...(c.client.isPaused() ? (['node'] as const) : []),
          ...(c.upstream.isPaused() ? (['broker'] as const) : []),
        ],
      })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of pairs) s.destroy();
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
