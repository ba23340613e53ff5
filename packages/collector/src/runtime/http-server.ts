/**
 * The collector's only listener: /healthz for the container health check and probes, /metrics
 * for Prometheus. node:http rather than fastify: two fixed routes do not justify its memory on a
 * 128 MiB gateway container.
 */
import http from 'node:http';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { CollectorError } from '../errors.js';

/** Connections held at once; the next is closed as it is accepted (each idle one costs memory). */
const MAX_CONNECTIONS = 64;

export interface CollectorHealth {
  node: string;
  /** Broker connected; a collector that is offline is still healthy (offline is normal). */
  connected: boolean;
  queueBatches: number;
}

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(
  host: string,
  port: number,
  deps: { health(): CollectorHealth; prometheus: PrometheusExporter },
): Promise<HttpServer> {
  // A scraper and a health check need a few connections, each idle one costs memory, and a client
  // that sends nothing is cut after 15 s (Node's default: 60 s, checked every 30 s).
  const server = http.createServer(
    { requestTimeout: 15_000, headersTimeout: 15_000, connectionsCheckingInterval: 1000 },
    (req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', ...deps.health() }));
      } else if (req.method === 'GET' && req.url === '/metrics') {
        deps.prometheus.getMetricsRequestHandler(req, res);
      } else {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'ET_ERR_NOT_FOUND', message: 'GET /healthz or /metrics' }));
      }
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CollectorError(
          'ET_ERR_HTTP_LISTEN',
          err.code === 'EADDRINUSE'
            ? `${host}:${port} is in use (http.port); choose another port, 0 for any free one, or -1 for no listener`
            : `${host}:${port}: ${err.message}`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { url: `http://${host}:${bound}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
