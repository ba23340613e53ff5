/**
 * A grpc-js server interceptor that bounds what gRPC calls hold before their message is whole
 * (grpc-call-gate.ts): it sees each call at its metadata, before grpc-js reads a byte of the
 * message, and lets it read only when the gate has a slot. As OTLP/HTTP, a call has
 * BODY_TIMEOUT_MS from its metadata to be read whole: a call still waiting for a slot then gets
 * UNAVAILABLE with retry info; a call still reading (a client that announced a message and stopped)
 * has its connection closed, since only that frees what grpc-js holds of the message. Both counted.
 */
import * as grpc from '@grpc/grpc-js';
import type { Meter } from '@opentelemetry/api';
import { createCallGate } from './grpc-call-gate.js';
import { BODY_TIMEOUT_MS } from './http-transport.js';
import { RPC, type OtlpIntake } from './intake.js';
import type { OtlpReceiverOptions } from './options.js';

/**
 * Calls that may read at once: what the in-flight budget holds of whole messages, and two at least.
 * grpc-js holds a message as sent and, compressed, its inflated chunks and their concatenation:
 * up to three times `maxDecodedBytes` each.
 */
export function openCallCaps(o: Pick<OtlpReceiverOptions, 'maxInFlightBytes' | 'maxDecodedBytes'>) {
  const total = Math.max(2, Math.floor(o.maxInFlightBytes / (3 * o.maxDecodedBytes)));
  return { total, perAddress: Math.max(1, Math.floor(total / 2)) };
}

/** A call's connection by its peer (`<remoteAddress>:<remotePort>`): its client key, and closing it. */
export interface CallConnections {
  client(peer: string): string;
  close(peer: string): void;
}

export function openCallsInterceptor(
  o: OtlpReceiverOptions,
  intake: OtlpIntake,
  meter: Meter,
  connections: CallConnections,
): grpc.ServerInterceptor {
  const caps = openCallCaps(o);
  const gate = createCallGate(caps.total, caps.perAddress);
  const ended = meter.createCounter('collector.otlp.grpc_calls_ended', {
    description:
      'OTLP/gRPC calls ended before their message was read whole, by reason (busy: no read slot within the body timeout, UNAVAILABLE with retry info; body_timeout: the message not whole in time, connection closed)',
  });
  meter
    .createObservableGauge('collector.otlp.grpc_calls_open', {
      description: 'OTLP/gRPC calls whose message is not yet whole, by state (reading, waiting for a read slot)',
    })
    .addCallback((r) => {
      const n = gate.counts();
      r.observe(n.reading, { state: 'reading' });
      r.observe(n.waiting, { state: 'waiting' });
    });

  return (_method, call) => {
    let entry: ReturnType<typeof gate.open> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      entry?.done();
    };
    const end = () => {
      const info = call.getConnectionInfo();
      if (entry?.reading) {
        ended.add(1, { reason: 'body_timeout' });
        call.sendStatus({
          code: grpc.status.DEADLINE_EXCEEDED,
          details: `ET_ERR_OTLP_MALFORMED: the message was not whole ${BODY_TIMEOUT_MS} ms after the call began`,
        });
        finish();
        // The answer goes out first; closing the connection drops the part grpc-js holds.
        setImmediate(() => connections.close(`${info.remoteAddress}:${info.remotePort}`));
        return;
      }
      ended.add(1, { reason: 'busy' });
      const details = 'ET_ERR_OTLP_BUSY: too many gRPC calls reading at once';
      const metadata = new grpc.Metadata();
      metadata.set('grpc-status-details-bin', intake.codec.status('protobuf', RPC.unavailable, details, 1));
      call.sendStatus({ code: grpc.status.UNAVAILABLE, details, metadata });
      finish();
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, proceed) => {
              timer = setTimeout(end, BODY_TIMEOUT_MS);
              entry = gate.open(connections.client(call.getPeer()), () => proceed(metadata));
            })
            .withOnReceiveMessage((message, proceed) => {
              finish();
              proceed(message);
            })
            .withOnCancel(finish)
            .build(),
        ),
    });
  };
}
