import net from 'node:net';

/**
 * A free TCP port on loopback, found by letting the kernel pick one. Free only when looked up:
 * start programs on it through onFreePorts (on-free-ports.ts), or let them bind port 0.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
