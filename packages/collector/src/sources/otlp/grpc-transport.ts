/**
 * OTLP/gRPC (the `Export` methods of the metrics, logs and trace services) through @grpc/grpc-js,
 * decoded, limited and mapped by the same intake as OTLP/HTTP. grpc-js reads each message whole
 * (`maxDecodedBytes` as sent and inflated, gzip or deflate; larger ones get RESOURCE_EXHAUSTED
 * without retry info: not retryable) and hands us its bytes; we decode them with the same
 * protobufjs codec. Answers as the specification says: OK with partial success, INVALID_ARGUMENT
 * for a message that does not decode, RESOURCE_EXHAUSTED over the item rate and UNAVAILABLE over
 * the in-flight bytes, both with a google.rpc.RetryInfo in `grpc-status-details-bin` (which makes
 * RESOURCE_EXHAUSTED retryable for the client). Connections come through a listener of our own,
 * which applies the intake's caps (shared with OTLP/HTTP) before handing each socket to grpc-js
 * (`createConnectionInjector`): grpc-js's own `bindAsync` listens where no code of ours sees the socket.
 * What a call holds before its message is whole is bounded by an interceptor (grpc-open-calls.ts).
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Meter } from '@opentelemetry/api';
import { clientKey } from '@edge-telemetry/protocol/net';
import { grpcServiceName, type OtlpSignal } from './codec.js';
import { openCallsInterceptor } from './grpc-open-calls.js';
import type { OtlpIntake } from './intake.js';
import type { OtlpReceiverOptions } from './options.js';
import { hostForUrl, listenError, type OtlpServer } from './http-transport.js';

const SIGNALS: OtlpSignal[] = ['metrics', 'logs', 'traces'];
/**
 * Streams per connection (HTTP/2 SETTINGS; a client queues more until one ends). A stream waiting
 * for a read slot holds up to its HTTP/2 window (64 KiB): 4 keeps that to 16 MiB for the 64
 * connections one address may hold by default (64 MiB for all 256), and an exporter has about one
 * export per signal in flight.
 */
export const MAX_CONCURRENT_STREAMS = 4;
const raw = (b: Buffer) => b;

export async function startOtlpGrpc(o: OtlpReceiverOptions, intake: OtlpIntake, meter: Meter): Promise<OtlpServer> {
  // Each admitted connection by its peer (`<remoteAddress>:<remotePort>`, as grpc-js names a call's
  // peer), so a call not whole in time can close its connection and a call's client is its socket's
  // address, keyed once per connection (clientKey) for the interceptor's read slots and the intake alike.
  const sockets = new Map<string, { socket: net.Socket; client: string }>();
  // A peer's client key; '' once its socket is gone (the call is being cancelled). One rule for the
  // interceptor and the Export handler.
  const clientOf = (peer: string): string => sockets.get(peer)?.client ?? '';
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxDecodedBytes,
    // Answers are a partial success at most: a small bound keeps a bug from sending much.
    'grpc.max_send_message_length': 64 * 1024,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    interceptors: [
      openCallsInterceptor(o, intake, meter, {
        client: clientOf,
        close: (peer) => sockets.get(peer)?.socket.destroy(),
      }),
    ],
  });
  for (const signal of SIGNALS) {
    const service: grpc.ServiceDefinition = {
      Export: {
        path: `/${grpcServiceName(signal)}/Export`,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    };
    const exportCall: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      // The client of the socket grpc-js names the call's peer after (`<remoteAddress>:<remotePort>`,
      // the key `sockets` uses): parsing the string back is ambiguous for IPv6 (`::1:5000` is an
      // address too, and a peer without a port lost its last group). A socket already gone (the call
      // is being cancelled) leaves the key '' for it.
      const hold = intake.hold(clientOf(call.getPeer()));
      try {
        // grpc-js has read the message already: holding it still turns away others while one decodes.
        hold.take(call.request.length);
        const answer = intake.accept(
          signal,
          'protobuf',
          intake.codec.decode(signal, call.request, 'protobuf', o.maxDecodedValues, hold.take),
          hold.client,
        );
        intake.answered('grpc', signal, 'OK');
        callback(null, answer);
      } catch (err) {
        const r = intake.refusal(signal, err);
        intake.answered('grpc', signal, grpc.status[r.rpc] ?? String(r.rpc));
        const metadata = new grpc.Metadata();
        if (r.retryAfterS !== undefined)
          metadata.set(
            'grpc-status-details-bin',
            intake.codec.status('protobuf', r.rpc, `${r.code}: ${r.message}`, r.retryAfterS),
          );
        callback({ code: r.rpc, details: `${r.code}: ${r.message}`, metadata });
      } finally {
        hold.release();
      }
    };
    server.addService(service, { Export: exportCall });
  }
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((socket) => {
    if (!intake.connections.admit(socket)) return;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    sockets.set(peer, { socket, client: clientKey(socket.remoteAddress) });
    socket.once('close', () => sockets.delete(peer));
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err: NodeJS.ErrnoException) => reject(listenError(o.host, o.grpcPort, 'grpcPort', err)));
    listener.listen(o.grpcPort, o.host, () => resolve());
  });
  const addr = listener.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.grpcPort;
  return {
    url: `http://${hostForUrl(o.host)}:${port}`,
    close: () =>
      new Promise((resolve) => {
        listener.close();
        // Calls are answered synchronously, so a graceful stop is quick; a client holding its connection open must not hold up the collector's stop.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
