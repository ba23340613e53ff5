/**
 * OTLP/gRPC through a real gRPC client (@grpc/grpc-js, as the SDK's gRPC exporters use it): bad
 * messages, sizes and the item rate answer with the gRPC codes the OTLP specification gives, with
 * RetryInfo where a retry helps, and the receiver goes on serving; the SDK's own gRPC exporter
 * sees the same backpressure as the HTTP ones.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { gauge, METHOD, protos, startRig, T, type Rig } from './support.js';

const raw = (b: Buffer) => b;

describe('OTLP/gRPC receiver', () => {
  let rig: Rig | undefined;
  let client: grpc.Client | undefined;
  const others: Array<{ close(): void } | net.Socket> = [];
  afterEach(async () => {
    client?.close();
    client = undefined;
    for (const o of others.splice(0)) {
      if (o instanceof net.Socket) o.destroy();
      else o.close();
    }
    await rig?.close();
    rig = undefined;
  });

  const connect = (options: grpc.ClientOptions = {}) => {
    client = new grpc.Client(rig!.receiver.grpcUrl!.replace('http://', ''), grpc.credentials.createInsecure(), options);
    return client;
  };
  const call = (c: grpc.Client, body: Buffer) =>
    new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) =>
      c.makeUnaryRequest(METHOD, raw, raw, body, (err, res) => resolve({ err, res })),
    );

  it('refuses malformed and oversized messages with INVALID_ARGUMENT / RESOURCE_EXHAUSTED, answers NaN with partial success, keeps serving', async () => {
    rig = await startRig({ grpc: true, grpcPort: 0, maxDecodedBytes: 256 * 1024 });
    const { request, response } = protos();
    const c = connect();
    const bad = await call(c, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.err?.details).toMatch(/^ET_ERR_OTLP_MALFORMED/);
    // Over maxDecodedBytes as sent: refused by grpc-js before we see it, without retry info (not retryable).
    const big = await call(c, Buffer.alloc(300 * 1024));
    expect(big.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(big.err?.metadata.get('grpc-status-details-bin')).toEqual([]);
    // A small gzip message that inflates past maxDecodedBytes.
    const zipped = connect({ 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    const bomb = await call(zipped, Buffer.alloc(4 * 1024 * 1024));
    expect(bomb.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const nan = await call(
      zipped,
      Buffer.from(
        request
          .encode(
            request.fromObject(
              gauge(
                'pressure',
                [1, NaN, Infinity, 3].map((v, i) => ({ t: T + i * 1000, v })),
              ),
            ),
          )
          .finish(),
      ),
    );
    expect(nan.err).toBeNull();
    expect(response.toObject(response.decode(nan.res!), { longs: Number }).partial).toEqual({
      rejected: 2,
      message: 'pressure: a point without a finite value',
    });
    const [w] = rig.downsampler.flush(T + 60_000);
    expect(w).toMatchObject({ metric: 'pressure', count: 2, sum: 4, max: 3 });
    expect(await rig.requests('INVALID_ARGUMENT')).toBe(1);
    expect(await rig.requests('OK')).toBe(1);
  });

  it('over its item rate answers RESOURCE_EXHAUSTED with RetryInfo; the retried request is taken', async () => {
    // 1 item/s with a burst of 8: a refusal here would need 3 s between two local calls, so it is certain under any load.
    rig = await startRig({ grpc: true, grpcPort: 0, itemsPerSecond: 1, burstItems: 8 });
    const { request } = protos();
    const c = connect();
    const body = (name: string, n: number) =>
      Buffer.from(
        request
          .encode(
            request.fromObject(
              gauge(
                name,
                Array.from({ length: n }, (_, i) => ({ t: T + i * 1000, v: i })),
              ),
            ),
          )
          .finish(),
      );
    expect((await call(c, body('a', 8))).err).toBeNull();
    const refused = await call(c, body('b', 3));
    expect(refused.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const [details] = refused.err!.metadata.get('grpc-status-details-bin') as Buffer[];
    // google.rpc.Status { code, message, details: [Any { type_url, value: RetryInfo { retry_delay } }] }, decoded on its own.
    const status = protobuf.Type.fromJSON('Status', {
      fields: { code: { id: 1, type: 'int32' }, details: { id: 3, type: 'Any', rule: 'repeated' } },
      nested: {
        Any: { fields: { typeUrl: { id: 1, type: 'string' }, value: { id: 2, type: 'bytes' } } },
        RetryInfo: { fields: { delay: { id: 1, type: 'Duration' } } },
        Duration: { fields: { seconds: { id: 1, type: 'int64' } } },
      },
    });
    const s = status.toObject(status.decode(details!)) as {
      code: number;
      details: { typeUrl: string; value: Uint8Array }[];
    };
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details[0]!.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    const retry = status.lookupType('RetryInfo');
    const delay = retry.toObject(retry.decode(s.details[0]!.value), { longs: Number }) as {
      delay: { seconds: number };
    };
    expect(delay.delay.seconds).toBeGreaterThanOrEqual(1);
    expect(delay.delay.seconds).toBeLessThanOrEqual(3);
    // The client waits as told (the bucket refills meanwhile), and is taken. 50 ms more: a timer
    // may fire a millisecond early (libuv's cached loop time), a fraction of a token short.
    await new Promise((r) => setTimeout(r, delay.delay.seconds * 1000 + 50));
    expect((await call(c, body('b', 3))).err).toBeNull();
    expect(await rig.requests('RESOURCE_EXHAUSTED')).toBe(1);
    expect(
      rig.downsampler
        .flush(T + 60_000)
        .map((x) => x.metric)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it("the SDK's gRPC trace exporter is refused with RESOURCE_EXHAUSTED past the item rate, what was taken is summarized", async () => {
    rig = await startRig({ grpc: true, grpcPort: 0, itemsPerSecond: 1, burstItems: 5 });
    const exporter = new OTLPTraceExporter({ url: rig.receiver.grpcUrl! });
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'burst' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('burst');
    for (let i = 0; i < 5; i++) tracer.startSpan('poll').end();
    await provider.forceFlush();
    const spans = memory.getFinishedSpans();
    const send = () => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
    expect((await send()).code).toBe(ExportResultCode.SUCCESS);
    const refused = await send();
    expect(refused.code).toBe(ExportResultCode.FAILED);
    expect((refused.error as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await exporter.shutdown();
    await provider.shutdown();
    const [row] = rig.spans.flush(0, Date.now());
    expect(row).toMatchObject({ service: 'burst', operation: 'poll', count: 5 });
  });

  /**
   * A client with a connection of its own (grpc-js shares one between clients of the same target
   * unless told otherwise) that reconnects quickly once refused.
   */
  const ownConnection = () => {
    const c = new grpc.Client(rig!.receiver.grpcUrl!.replace('http://', ''), grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    });
    others.push(c);
    return c;
  };
  const metrics = (name: string) =>
    Buffer.from(
      protos()
        .request.encode(protos().request.fromObject(gauge(name, [{ t: T, v: 1 }])))
        .finish(),
    );
  // The session-10 review: the README said the receiver holds at most maxConnections, and gRPC had no cap at all.
  it('holds at most maxConnectionsPerAddress connections from one address: the next client is refused, counted and logged, and served once one goes', async () => {
    rig = await startRig({ grpc: true, grpcPort: 0, maxConnectionsPerAddress: 2 });
    const [a, b, c] = [ownConnection(), ownConnection(), ownConnection()];
    expect((await call(a, metrics('a'))).err).toBeNull();
    expect((await call(b, metrics('b'))).err).toBeNull();
    // Both keep their connections open; the third from the same address is closed as it comes.
    expect((await call(c, metrics('c'))).err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(await rig.counter('collector.otlp.connections_refused', { reason: 'address' })).toBeGreaterThanOrEqual(1);
    expect(rig.warnings[0]).toMatchObject({
      msg: 'OTLP connection refused: sources.otlp.maxConnectionsPerAddress reached',
      fields: { reason: 'address', address: '127.0.0.1' },
    });
    a.close();
    await waitFor(
      'the third client served once the first went',
      async () => (await call(c, metrics('c'))).err === null,
    );
  }, 60_000);

  it('counts OTLP/HTTP and OTLP/gRPC connections in one total: with maxConnections held over HTTP a gRPC client is refused', async () => {
    rig = await startRig({ grpc: true, grpcPort: 0, maxConnections: 4, maxConnectionsPerAddress: 4 });
    const url = new URL(rig.receiver.url);
    // Each held once answered (a keep-alive request): the receiver has taken it, not only the kernel.
    const held = await Promise.all(
      [0, 1, 2, 3].map(
        (i) =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(
              { port: Number(url.port), host: url.hostname, localAddress: `127.0.0.${20 + i}` },
              () => s.write('GET /v1/metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
            );
            s.once('data', () => resolve(s));
            s.on('error', reject);
            others.push(s);
          }),
      ),
    );
    const c = ownConnection();
    expect((await call(c, metrics('c'))).err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(await rig.counter('collector.otlp.connections_refused', { reason: 'total' })).toBeGreaterThanOrEqual(1);
    held[0]!.destroy();
    await waitFor(
      'the gRPC client served once an HTTP connection went',
      async () => (await call(c, metrics('c'))).err === null,
    );
  }, 60_000);
});
