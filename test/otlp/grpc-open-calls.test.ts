/**
 * OTLP/gRPC calls that announce a message and never finish it (the attack that took a collector
 * from 75 to 473 MB RSS through one connection): raw HTTP/2 from node:http2 against the real
 * receiver. Only the gate's read slots hold partial messages; the other streams wait paused, so
 * HTTP/2 flow control stops the client writing; the calls are ended at the body timeout and
 * counted; a real OTLP gRPC exporter from another address gets through meanwhile.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_TIMEOUT_MS } from '../../packages/collector/src/sources/otlp/http-transport.js';
import { MAX_CONCURRENT_STREAMS } from '../../packages/collector/src/sources/otlp/grpc-transport.js';
import { openCallCaps } from '../../packages/collector/src/sources/otlp/grpc-open-calls.js';
import { waitFor } from '../support/wait.js';
import { CALL, METHOD, sessionFrom, startRig, type Rig } from './support.js';

const SIZE = 4_000_000;

/** STREAMS calls on one connection from `localAddress`, each a prefix announcing SIZE bytes and SIZE-1 of them. */
function neverWhole(url: string, streams: number, localAddress: string) {
  const session = sessionFrom(url, localAddress);
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < streams; i++) {
    const st = session.request(CALL);
    st.on('error', () => {});
    const head = Buffer.alloc(5);
    head.writeUInt32BE(SIZE, 1);
    st.write(head);
    let sent = 0;
    const pump = () => {
      while (sent < SIZE - 1) {
        const n = Math.min(chunk.length, SIZE - 1 - sent);
        sent += n;
        if (!st.write(chunk.subarray(0, n))) return void st.once('drain', pump);
      }
    };
    pump();
  }
  return session;
}

describe('OTLP/gRPC calls whose message is never whole', () => {
  let rig: Rig | undefined;
  const sessions: http2.ClientHttp2Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await rig?.close();
    rig = undefined;
  });

  it(
    'holds only the read slots, ends the calls at the body timeout, counts them, and serves an exporter meanwhile',
    async () => {
      rig = await startRig({ grpc: true, grpcPort: 0 });
      const caps = openCallCaps({ maxInFlightBytes: 16 * 1024 * 1024, maxDecodedBytes: 16 * 1024 * 1024 });
      expect(caps).toEqual({ total: 2, perAddress: 1 });
      const open = (state: string) => rig!.counter('collector.otlp.grpc_calls_open', { state });
      const attack = neverWhole(rig.receiver.grpcUrl!, 100, '127.0.0.2');
      sessions.push(attack);
      const closed = new Promise((resolve) => attack.once('close', resolve));

      // One call of that address reads (it has sent all but one byte of its message), the others wait paused.
      await waitFor('one call reading, the rest waiting', async () => {
        expect(await open('reading')).toBe(caps.perAddress);
        expect(await open('waiting')).toBe(MAX_CONCURRENT_STREAMS - caps.perAddress);
        return attack.socket.bytesWritten >= SIZE;
      });

      // A real exporter from another address gets through while the attack holds its calls.
      const exporter = new OTLPTraceExporter({ url: rig.receiver.grpcUrl! });
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'checkout' }),
        spanProcessors: [new SimpleSpanProcessor(memory)],
      });
      provider.getTracer('t').startSpan('pay').end();
      await provider.forceFlush();
      const result = await new Promise<ExportResult>((resolve) => exporter.export(memory.getFinishedSpans(), resolve));
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();

      // Flow control holds the waiting streams: what the attacker got onto the wire is the reading
      // call's message and a window per waiting stream, not 100 x 4 MB.
      expect(attack.socket.bytesWritten).toBeLessThan(SIZE * caps.perAddress + 2 * 1024 * 1024);
      expect(await open('reading')).toBeLessThanOrEqual(caps.perAddress);

      // At the body timeout the reading call is ended and its connection closed: nothing is held.
      await closed;
      expect(await rig.counter('collector.otlp.grpc_calls_ended', { reason: 'body_timeout' })).toBeGreaterThanOrEqual(
        1,
      );
      await waitFor('no call open', async () => (await open('reading')) + (await open('waiting')) === 0);
    },
    BODY_TIMEOUT_MS + 60_000,
  );

  it('frees the read slot of a call that ends with no message as soon as it is answered', async () => {
    rig = await startRig({ grpc: true, grpcPort: 0 });
    const open = (state: string) => rig!.counter('collector.otlp.grpc_calls_open', { state });
    const session = sessionFrom(rig.receiver.grpcUrl!, '127.0.0.2');
    sessions.push(session);
    // Headers with END_STREAM: a unary call whose message never comes. grpc-js answers it itself
    // (UNIMPLEMENTED), past the interceptor's listener; the slot goes because grpc-js then calls
    // every listener's onCancel (notifyOnCancel), not at the body timeout with the connection.
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const st = session.request(CALL, { endStream: true });
      st.on('error', () => {});
      const status = await new Promise<string>((resolve) => {
        st.on('trailers', (t) => resolve(String(t['grpc-status'])));
        st.on('response', (h) => h['grpc-status'] !== undefined && resolve(String(h['grpc-status'])));
        st.on('close', () => resolve('closed'));
      });
      statuses.push(status);
      // The slot went before the answer left: none open once it is here.
      expect(await open('reading')).toBe(0);
      expect(await open('waiting')).toBe(0);
    }
    expect(statuses).toEqual(Array(3).fill(String(grpc.status.UNIMPLEMENTED)));
    expect(session.closed).toBe(false);
    expect(await rig.counter('collector.otlp.grpc_calls_ended', { reason: 'body_timeout' })).toBe(0);
  });

  it('serves a client with more calls at once than a connection has streams: its client queues them', async () => {
    rig = await startRig({ grpc: true, grpcPort: 0 });
    const client = new grpc.Client(rig.receiver.grpcUrl!.replace('http://', ''), grpc.credentials.createInsecure());
    const raw = (b: Buffer) => b;
    // An empty request is a valid one with nothing in it.
    const calls = Array.from(
      { length: 5 * MAX_CONCURRENT_STREAMS },
      () =>
        new Promise<grpc.ServiceError | null>((resolve) =>
          client.makeUnaryRequest(METHOD, raw, raw, Buffer.alloc(0), (err) => resolve(err)),
        ),
    );
    expect((await Promise.all(calls)).filter((e) => e !== null)).toEqual([]);
    client.close();
  });
});
