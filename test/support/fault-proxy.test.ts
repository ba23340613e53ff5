import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { waitFor } from './wait.js';

/** An echo server behind the proxy: what goes up comes back down. */
describe('fault proxy', () => {
  let echo: net.Server;
  let proxy: FaultProxy;
  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const addr = echo.address();
    proxy = await startFaultProxy({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(proxy.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const received = (s: net.Socket) => {
    const got = { bytes: 0, closed: false };
    s.on('data', (d: Buffer) => (got.bytes += d.length));
    s.on('close', () => (got.closed = true));
    s.on('error', () => undefined);
    return got;
  };
  const until = (pred: () => boolean) => waitFor('the proxied bytes', pred, { intervalMs: 5 });

  it('forwards and counts both directions; stall holds data until resume', async () => {
    const s = await connect();
    const got = received(s);
    const up0 = proxy.bytes.up;
    s.write(Buffer.alloc(1000));
    await until(() => got.bytes === 1000);
    expect(proxy.bytes.up - up0).toBe(1000);
    proxy.stall();
    s.write(Buffer.alloc(500));
    await new Promise((r) => setTimeout(r, 100));
    expect(got.bytes).toBe(1000);
    proxy.resume();
    await until(() => got.bytes === 1500);
    s.destroy();
  });

  it('throttles to the configured rate', async () => {
    const s = await connect();
    const got = received(s);
    proxy.throttle(50_000);
    const t0 = Date.now();
    s.write(Buffer.alloc(40_000));
    await until(() => got.bytes === 40_000);
    // 40 kB up and 40 kB down, each lane at 50 kB/s with a 0.1 s bucket: at least ~0.7 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    proxy.throttle(undefined);
    s.destroy();
  });

  it('cut destroys every connection and refuses new ones until resume', async () => {
    const a = received(await connect());
    const b = received(await connect());
    proxy.cut();
    await until(() => a.closed && b.closed);
    const refused = received(await connect());
    await until(() => refused.closed);
    proxy.resume();
    const s = await connect();
    const got = received(s);
    s.write(Buffer.from('hello'));
    await until(() => got.bytes === 5);
    s.destroy();
  });
});
