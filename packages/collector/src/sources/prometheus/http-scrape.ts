/**
 * One HTTP scrape of a target: GET with the Accept header Prometheus sends (OpenMetrics first,
 * then text 0.0.4), the body handed on chunk by chunk as it arrives (gunzipped when the target
 * compresses it), and every bound enforced while it streams: a deadline on the whole request
 * (a slow or stalled target, slowloris, costs at most `timeoutMs`) and a cap on the body after
 * decompression (a huge body or a gzip bomb costs at most `maxBodyBytes` read, never held). Every
 * failure is a CollectorError with a catalogue code; nothing here retries.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import { CollectorError } from '../../errors.js';
import type { ExpositionFormat } from './exposition-parser.js';

export const ACCEPT = 'application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export interface HttpScrapeOptions {
  timeoutMs: number;
  maxBodyBytes: number;
  agents: { http: http.Agent; https: https.Agent };
  /** Aborts the request (the source closing). */
  signal?: AbortSignal;
}

export interface BodySink {
  push(chunk: string): void;
  end(): void;
}

export interface HttpScrapeResult {
  format: ExpositionFormat;
  /** Body bytes after decompression. */
  bodyBytes: number;
}

/** The format a Content-Type names; anything else is read as text 0.0.4, as Prometheus does. */
export function formatOf(contentType: string | undefined): ExpositionFormat {
  return /^\s*application\/openmetrics-text/i.test(contentType ?? '') ? 'openmetrics' : 'text';
}

export function httpScrape(
  url: URL,
  o: HttpScrapeOptions,
  open: (format: ExpositionFormat) => BodySink,
): Promise<HttpScrapeResult> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    let body: Readable | undefined;
    const fail = (err: CollectorError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      body?.destroy();
      req.destroy();
      reject(err);
    };
    const req = lib.request(
      url,
      {
        method: 'GET',
        agent: url.protocol === 'https:' ? o.agents.https : o.agents.http,
        headers: {
          accept: ACCEPT,
          // Targets are on this host: compressing costs both sides CPU and saves no link bytes.
          // A target that compresses anyway is read all the same.
          'accept-encoding': 'identity',
          'user-agent': 'edge-telemetry-collector',
          'x-prometheus-scrape-timeout-seconds': String(o.timeoutMs / 1000),
        },
        signal: o.signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          return fail(new CollectorError('ET_ERR_PROM_HTTP', `${url.href}: HTTP ${status}`));
        }
        const encoding = (res.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (encoding !== 'identity' && encoding !== 'gzip') {
          res.resume();
          return fail(new CollectorError('ET_ERR_PROM_BAD_BODY', `${url.href}: content-encoding ${encoding}`));
        }
        const format = formatOf(res.headers['content-type']);
        const sink = open(format);
        const decoder = new StringDecoder('utf8');
        let bytes = 0;
        body = encoding === 'gzip' ? res.pipe(zlib.createGunzip()) : res;
        body.on('data', (chunk: Buffer) => {
          if (settled) return;
          bytes += chunk.length;
          if (bytes > o.maxBodyBytes)
            return fail(new CollectorError('ET_ERR_PROM_TOO_LARGE', `${url.href}: body above ${o.maxBodyBytes} bytes`));
          sink.push(decoder.write(chunk));
        });
        body.on('end', () => {
          if (settled) return;
          sink.push(decoder.end());
          sink.end();
          settled = true;
          clearTimeout(timer);
          resolve({ format, bodyBytes: bytes });
        });
        body.on('error', (err: Error) =>
          fail(new CollectorError('ET_ERR_PROM_BAD_BODY', `${url.href}: ${err.message}`)),
        );
        res.on('aborted', () => fail(new CollectorError('ET_ERR_PROM_BAD_BODY', `${url.href}: body cut short`)));
      },
    );
    const timer = setTimeout(
      () => fail(new CollectorError('ET_ERR_PROM_TIMEOUT', `${url.href}: no complete answer within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (o.signal?.aborted) return fail(new CollectorError('ET_ERR_PROM_TIMEOUT', `${url.href}: aborted`));
      fail(new CollectorError('ET_ERR_PROM_CONNECT', `${url.href}: ${err.code ?? err.message}`));
    });
    req.end();
  });
}
