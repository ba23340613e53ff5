import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const LogFileSourceOptionsSchema = Type.Object({
  /** Docker's container folder (`<id>/<id>-json.log`); '' turns json-file reading off. */
  dockerRoot: Type.String({ default: '/var/lib/docker/containers' }),
  /** Kubelet's pod log folder (`<ns>_<pod>_<uid>/<container>/<N>.log`); '' turns CRI reading off. */
  podsRoot: Type.String({ default: '/var/log/pods' }),
  /** Checkpoint file of read offsets, on the data volume. */
  checkpointPath: Type.String({ minLength: 1 }),
  /** Files are polled at this interval; file-system notifications only bring a poll forward. */
  pollIntervalMs: Type.Integer({ minimum: 10, default: 1000 }),
  /** Files found at the very first start (no checkpoint yet) are read from their start, not only new lines. */
  readFromHead: Type.Boolean({ default: false }),
  /** Bytes per read call. */
  chunkBytes: Type.Integer({ minimum: 4096, default: 262144 }),
  /** Longest line kept whole; longer ones are handed on in pieces. */
  maxLineBytes: Type.Integer({ minimum: 1024, default: 262144 }),
});
export type LogFileSourceOptions = Static<typeof LogFileSourceOptionsSchema>;

export function logFileSourceOptions(partial: Partial<LogFileSourceOptions> & { checkpointPath: string }): LogFileSourceOptions {
  return resolveOptions(LogFileSourceOptionsSchema, partial);
}
