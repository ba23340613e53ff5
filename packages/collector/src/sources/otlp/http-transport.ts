/**
 * OTLP/HTTP (`POST /v1/metrics`, `/v1/logs`, `/v1/traces`; protobuf or JSON; gzip), answering as
 * the OTLP specification says: 200 with partial success for what was refused inside a valid
 * request, 400 for a body that does not decode, 413 over the size limits, 415 for other content
 * types or encodings, 429 (item rate) and 503 (bytes in flight) with Retry-After when the pipeline
 * is full. A body takes its bytes from the in-flight budget as they arrive, before they are kept,
 * and so do its inflated bytes and what its decode will hold (decode-cost.ts), so memory is bounded
 * by `maxInFlightBytes` whatever the clients send, but for one thing: zlib's output buffer for a
 * gzip body being inflated is the size its trailer declares (up to `maxDecodedBytes`) and is charged
 * only as far as it fills, so a trailer that overstates the size holds the rest uncharged while that
 * body inflates (gunzip). A request has BODY_TIMEOUT_MS to arrive whole. Reserving the declared length up front let four
 * clients that each declared 4 MiB and sent nothing more hold the whole default budget, every other
 * application's export answered 503, for as long as they kept the connections open.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { clientKey, guardServer } from '@edge-telemetry/protocol/net';
import { CollectorError } from '../../errors.js';
import type { OtlpFormat, OtlpSignal } from './codec.js';
import { OtlpRefusal, type OtlpIntake } from './intake.js';
import type { OtlpReceiverOptions } from './options.js';

export interface OtlpServer {
  url: string;
  close(): Promise<void>;
}

/**
 * How long a request may take to arrive whole (headers and body), then 408 and the connection is
 * closed: the OpenTelemetry SDK exporters give up on an export after 10 s by default
 * (OTEL_EXPORTER_OTLP_TIMEOUT), so a request still arriving later is one nobody waits for.
 */
export const BODY_TIMEOUT_MS = 15_000;

/** A gzip member's header and trailer (RFC 1952): the trailer's last 4 bytes are the inflated size, modulo 2^32. */
const GZIP_MIN_BYTES = 18;
/** The first two bytes of a gzip member (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const PATHS: Record<string, OtlpSignal> = { '/v1/metrics': 'metrics', '/v1/logs': 'logs', '/v1/traces': 'traces' };

export async function startOtlpHttp(o: OtlpReceiverOptions, intake: OtlpIntake): Promise<OtlpServer> {
  const handle = async (req: http.IncomingMessage, signal: OtlpSignal, format: OtlpFormat) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > o.maxRequestBytes)
      throw new OtlpRefusal(
        413,
        'ET_ERR_OTLP_TOO_LARGE',
        `body of ${declared} bytes is over maxRequestBytes (${o.maxRequestBytes})`,
        undefined,
        'maxRequestBytes',
      );
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity')
      throw new OtlpRefusal(415, 'ET_ERR_OTLP_ENCODING', `content-encoding ${encoding}: only gzip or identity`);
    const hold = intake.hold(clientKey(req.socket.remoteAddress));
    try {
      let body = await readBody(req, o.maxRequestBytes, hold.take);
      if (encoding === 'gzip') body = await gunzip(body, o.maxDecodedBytes, hold.take);
      else if (body.length > o.maxDecodedBytes)
        throw new OtlpRefusal(
          413,
          'ET_ERR_OTLP_TOO_LARGE',
          `body is over maxDecodedBytes (${o.maxDecodedBytes})`,
          undefined,
          'maxDecodedBytes',
        );
      const request = intake.codec.decode(signal, body, format, o.maxDecodedValues, hold.take);
      return intake.accept(signal, format, request, hold.client);
    } finally {
      hold.release();
    }
  };

  const server = http.createServer(
    // Node checks the deadlines every connectionsCheckingInterval (30 s by default).
    { requestTimeout: BODY_TIMEOUT_MS, headersTimeout: BODY_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    (req, res) => {
      const signal = PATHS[(req.url ?? '').split('?')[0] as string];
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      const format: OtlpFormat = type === 'application/json' ? 'json' : 'protobuf';
      const answer = (status: number, body: Buffer, headers: Record<string, string> = {}) => {
        intake.answered('http', signal ?? 'none', String(status));
        res.writeHead(status, {
          'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
          ...headers,
        });
        res.end(body);
      };
      const refuse = (r: OtlpRefusal) => {
        // The body may still be arriving: read and discard it, so the client sees the answer, not a reset.
        req.resume();
        answer(
          r.http,
          intake.codec.status(format, r.rpc, `${r.code}: ${r.message}`, r.retryAfterS),
          r.retryAfterS !== undefined ? { 'retry-after': String(r.retryAfterS) } : {},
        );
      };
      if (signal === undefined || req.method !== 'POST') {
        refuse(new OtlpRefusal(404, 'ET_ERR_OTLP_NOT_FOUND', 'POST /v1/metrics, /v1/logs or /v1/traces'));
        return;
      }
      if (type !== 'application/json' && type !== 'application/x-protobuf') {
        refuse(
          new OtlpRefusal(
            415,
            'ET_ERR_OTLP_CONTENT_TYPE',
            `content-type ${type || '(none)'}: application/x-protobuf or application/json`,
          ),
        );
        return;
      }
      handle(req, signal, format).then(
        (body) => answer(200, body),
        (err: unknown) => refuse(intake.refusal(signal, err)),
      );
    },
  );
  server.keepAliveTimeout = 65_000;
  // An application's exporter keeps one or two connections; each idle one costs memory, and one
  // client's could take them all from the others: a total and a per-address cap (the intake's, shared with gRPC).
  guardServer(server, intake.connections);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(o.host, o.port, 'port', err)));
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${hostForUrl(o.host)}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** `[::1]` for an IPv6 address, as URLs and gRPC targets write it. */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** ET_ERR_OTLP_LISTEN naming the option to change. */
export function listenError(host: string, port: number, option: string, err: { code?: string; message: string }) {
  return new CollectorError(
    'ET_ERR_OTLP_LISTEN',
    err.code === 'EADDRINUSE' || /EADDRINUSE|No address added/.test(err.message)
      ? `${host}:${port} is in use (sources.otlp.${option}); choose another port or 0 for any free one`
      : `${host}:${port}: ${err.message}`,
  );
}

/**
 * Chunks kept up to `max` bytes in all, each first given to `take` (which refuses it when the
 * in-flight budget is spent); `add` answers why a chunk was refused, or undefined. `whole` joins
 * them, and the copy takes the budget too: the chunks stay in memory until V8 collects them (a
 * 15 MiB body held 30 MiB as chunks and their concatenation). It throws the refusal.
 */
function budgetedChunks(
  max: number,
  take: (bytes: number) => void,
  overMax: string,
  limit: 'maxRequestBytes' | 'maxDecodedBytes',
) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(c: Buffer): unknown {
      size += c.length;
      if (size > max) return new OtlpRefusal(413, 'ET_ERR_OTLP_TOO_LARGE', overMax, undefined, limit);
      try {
        take(c.length);
      } catch (err) {
        return err;
      }
      chunks.push(c);
      return undefined;
    },
    whole(): Buffer {
      if (chunks.length === 1) return chunks[0] as Buffer;
      take(size);
      return Buffer.concat(chunks, size);
    },
  };
}

/** Settles `resolve` with `whole()`, or `reject` with what it threw. */
function settle(whole: () => Buffer, resolve: (b: Buffer) => void, reject: (err: unknown) => void) {
  try {
    resolve(whole());
  } catch (err) {
    reject(err);
  }
}

/** The body, refused (413) as soon as it passes `max` bytes; its chunks take the in-flight budget as they arrive. */
function readBody(req: http.IncomingMessage, max: number, take: (bytes: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const kept = budgetedChunks(max, take, `body is over maxRequestBytes (${max})`, 'maxRequestBytes');
    const onEnd = () => settle(() => kept.whole(), resolve, reject);
    const onData = (c: Buffer) => {
      const refused = kept.add(c);
      if (refused === undefined) return;
      // The rest is read on and discarded (the client sees the answer, not a reset); its end must
      // not join the chunks: that took their bytes again after the request gave its hold back, for good.
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(refused);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
    // Cut before its end (the deadline, or the client gone): what it held goes back to the budget.
    req.on('close', () => {
      if (!req.complete) reject(new OtlpRefusal(400, 'ET_ERR_OTLP_MALFORMED', 'the request ended before its body'));
    });
  });
}

/**
 * The inflated body, refused (413) as soon as it passes `max` bytes; its chunks take the in-flight
 * budget as they come out, as the body's own do. Inflated whole outside the budget, 40 clients
 * that each sent a 16 KB gzip of 16 MiB at once had the collector OOM-killed in its 128 MiB.
 * gzip's trailer says the inflated size (ISIZE, modulo 2^32; zlib checks it at the end): over
 * `max`, the body is refused before it is inflated; within it, zlib writes into chunks of that
 * size, so a body that says its size truly comes out as one chunk, not a list of 16 KiB ones and
 * their concatenation. One that understates it costs the concatenation, which takes the budget too.
 */
function gunzip(body: Buffer, max: number, take: (bytes: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The trailer is only a size when the body is gzip: anything else is a bad encoding (400), not too large.
    if (body[0] !== GZIP_MAGIC[0] || body[1] !== GZIP_MAGIC[1]) {
      reject(new OtlpRefusal(400, 'ET_ERR_OTLP_ENCODING', 'gzip: not a gzip body (no 1f 8b header)'));
      return;
    }
    const declared = body.length >= GZIP_MIN_BYTES ? body.readUInt32LE(body.length - 4) : 0;
    if (declared > max) {
      reject(
        new OtlpRefusal(
          413,
          'ET_ERR_OTLP_TOO_LARGE',
          `gzip body of ${declared} bytes inflated is over maxDecodedBytes (${max})`,
          undefined,
          'maxDecodedBytes',
        ),
      );
      return;
    }
    const inflate = zlib.createGunzip({ chunkSize: Math.max(zlib.constants.Z_DEFAULT_CHUNK, declared) });
    const kept = budgetedChunks(max, take, `inflated body is over maxDecodedBytes (${max})`, 'maxDecodedBytes');
    inflate.on('data', (c: Buffer) => {
      const refused = kept.add(c);
      if (refused === undefined) return;
      inflate.destroy();
      reject(refused);
    });
    inflate.on('end', () => settle(() => kept.whole(), resolve, reject));
    inflate.on('error', (err) => reject(new OtlpRefusal(400, 'ET_ERR_OTLP_ENCODING', `gzip: ${err.message}`)));
    inflate.end(body);
  });
}
