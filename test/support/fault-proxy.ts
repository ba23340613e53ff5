/**
 * A TCP fault proxy on loopback between a client (the collector) and a server (the broker):
 * throttle(bytes/s), stall() (connections stay open, nothing moves), cut() (every connection
 * destroyed and new ones refused until resume()), resume(). Bytes are counted per direction after
 * the throttle, i.e. what crossed the simulated link. `inspect` sees each chunk as it arrives and
 * may drop that one connection instead of forwarding it (a fault at a chosen point of a protocol
 * exchange, e.g. after an HTTP server executed a request and before its answer gets through).
 */
import net from 'node:net';

export interface FaultProxy {
  port: number;
  /** mqtt://127.0.0.1:<port> */
  url: string;
  /** Limits each direction to `bytesPerSec` (shared by all connections, like one link); undefined removes the limit. */
  throttle(bytesPerSec: number | undefined): void;
  /** Holds all data in both directions; connections stay open. */
  stall(): void;
  /** Destroys every connection and refuses new ones until resume(). */
  cut(): void;
  /** Ends a stall or a cut. */
  resume(): void;
  /** Bytes forwarded client→server (up) and server→client (down). */
  readonly bytes: { up: number; down: number };
  readonly connections: number;
  close(): Promise<void>;
}

interface Pending {
  to: net.Socket;
  from: net.Socket;
  buf: Buffer;
}

/** One direction of the link: a FIFO drained at the configured rate. */
class Lane {
  rate: number | undefined;
  stalled = false;
  bytes = 0;
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private tokens = 0;
  private at = Date.now();

  push(p: Pending): void {
    this.queue.push(p);
    this.queued += p.buf.length;
    // Backpressure to the sender, as a slow link would give.
    if (this.queued > 256 * 1024) p.from.pause();
    this.drain();
  }

  drop(sock: net.Socket): void {
    this.queue = this.queue.filter((p) => p.to !== sock && p.from !== sock);
    this.queued = this.queue.reduce((n, p) => n + p.buf.length, 0);
  }

  drain(): void {
    if (this.timer) return;
    const now = Date.now();
    if (this.rate !== undefined)
      this.tokens = Math.min(this.rate / 10, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    while (this.queue.length > 0 && !this.stalled) {
      const p = this.queue[0] as Pending;
      let n = p.buf.length;
      if (this.rate !== undefined) n = Math.min(n, Math.floor(this.tokens));
      if (n <= 0) break;
      if (!p.to.destroyed) p.to.write(p.buf.subarray(0, n));
      this.bytes += n;
      this.tokens -= this.rate !== undefined ? n : 0;
      this.queued -= n;
      if (n === p.buf.length) this.queue.shift();
      else p.buf = p.buf.subarray(n);
      if (this.queued <= 64 * 1024) p.from.resume();
    }
    if (this.queue.length > 0 && !this.stalled) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, 10);
    }
  }

  clear(): void {
    this.queue = [];
    this.queued = 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export type ChunkInspector = (direction: 'up' | 'down', chunk: Buffer, connection: number) => 'forward' | 'drop';

export async function startFaultProxy(
  target: { host?: string; port: number },
  o: { inspect?: ChunkInspector } = {},
): Promise<FaultProxy> {
  const host = target.host ?? '127.0.0.1';
  const up = new Lane();
  const down = new Lane();
  const sockets = new Set<net.Socket>();
  let isCut = false;
  let connections = 0;

  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        up.drop(s);
        down.drop(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const id = ++connections;
    const forward = (direction: 'up' | 'down', p: Pending) => {
      if (o.inspect?.(direction, p.buf, id) === 'drop') {
        client.destroy();
        upstream.destroy();
        return;
      }
      (direction === 'up' ? up : down).push(p);
    };
    client.on('data', (buf: Buffer) => forward('up', { to: upstream, from: client, buf }));
    upstream.on('data', (buf: Buffer) => forward('down', { to: client, from: upstream, buf }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  const destroyAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    up.clear();
    down.clear();
  };

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    throttle: (rate) => {
      up.rate = rate;
      down.rate = rate;
    },
    stall: () => {
      up.stalled = true;
      down.stalled = true;
    },
    cut: () => {
      isCut = true;
      destroyAll();
    },
    resume: () => {
      isCut = false;
      up.stalled = false;
      down.stalled = false;
      up.drain();
      down.drain();
    },
    bytes: {
      get up() {
        return up.bytes;
      },
      get down() {
        return down.bytes;
      },
    },
    get connections() {
      return sockets.size / 2;
    },
    close: async () => {
      up.stop();
      down.stop();
      destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
