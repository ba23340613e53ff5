/**
 * The embedded MQTT broker for `npm start`: aedes in-process, MQTT 3.1.1 only and no shared
 * subscriptions (docs/architecture.md), which is why one embedded ingester subscribes plainly.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      // aedes' own timers would keep the process alive after the caller gave up.
      aedes.close(() =>
        reject(
          new Error(
            err.code === 'EADDRINUSE' ? `MQTT port ${port} is in use; fix: pass --mqtt-port <free port>` : err.message,
          ),
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `mqtt://${host}:${bound}`,
    close: () =>
      // aedes first: its open client sockets would keep server.close() waiting.
      new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  };
}
