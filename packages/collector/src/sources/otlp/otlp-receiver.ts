/**
 * The OTLP receiver: OTLP/HTTP (always, when `sources.otlp` is on) and OTLP/gRPC (with
 * `sources.otlp.grpc`) over one intake, so both transports share the decoding, the limits and
 * the backpressure: a client cannot get around the item rate by switching protocol. Nothing
 * waits in an unbounded queue: a request is decoded and handed on whole or refused whole, and the
 * client keeps what we refused and retries. Accepted items go straight into the pipeline's
 * stages (deps), which have their own caps.
 */
import { startOtlpGrpc } from './grpc-transport.js';
import { startOtlpHttp } from './http-transport.js';
import { createOtlpIntake, type OtlpReceiverDeps } from './intake.js';
import type { OtlpReceiverOptions } from './options.js';

export type { OtlpReceiverDeps, OtlpSinks } from './intake.js';

export interface OtlpReceiver {
  /** OTLP/HTTP base URL (`<url>/v1/metrics`). */
  url: string;
  /** OTLP/gRPC address as the SDKs' gRPC exporters take it (`http://host:port`), when served. */
  grpcUrl: string | undefined;
  close(): Promise<void>;
}

export async function startOtlpReceiver(o: OtlpReceiverOptions, deps: OtlpReceiverDeps): Promise<OtlpReceiver> {
  const intake = createOtlpIntake(o, deps);
  const http = await startOtlpHttp(o, intake);
  let grpc;
  try {
    grpc = o.grpc ? await startOtlpGrpc(o, intake, deps.meter) : undefined;
  } catch (err) {
    await http.close();
    throw err;
  }
  return {
    url: http.url,
    grpcUrl: grpc?.url,
    close: async () => {
      await Promise.all([http.close(), grpc?.close()]);
    },
  };
}
