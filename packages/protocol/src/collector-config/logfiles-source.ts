import { Type, type Static } from '@sinclair/typebox';

/**
 * The longest log line the pipeline takes whole, from a file (`maxLineBytes`) or an OTLP record
 * (`sources.otlp.maxLogRecordBytes`): one default for both, so neither source makes the pipeline
 * hold more than the other.
 */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024;

export const LogFileSourceOptionsSchema = Type.Object({
  dockerRoot: Type.String({
    default: '/var/lib/docker/containers',
    description: "Docker's container folder (`<id>/<id>-json.log`); '' turns json-file reading off.",
  }),
  podsRoot: Type.String({
    default: '/var/log/pods',
    description: "Kubelet's pod log folder (`<ns>_<pod>_<uid>/<container>/<N>.log`); '' turns CRI reading off.",
  }),
  pollIntervalMs: Type.Integer({
    minimum: 10,
    default: 1000,
    description: 'Interval (ms) at which log files are polled; file-system notifications only bring a poll forward.',
  }),
  restPollMaxMs: Type.Integer({
    minimum: 10,
    default: 10_000,
    description:
      "A file read to its end and idle since (not written to for a minute: an exited container's) is looked at after pollIntervalMs, then at intervals doubling up to this (ms) while it stays unchanged, and at every window's seal; what is written to it later is read up to this much later, never lost.",
  }),
  readFromHead: Type.Boolean({
    default: false,
    description:
      'At the very first start (no reading positions saved yet), read existing files from their start instead of only new lines.',
  }),
  chunkBytes: Type.Integer({
    minimum: 4096,
    default: 65536,
    description:
      'Bytes per read call: what one file is read ahead of the pipeline at a time (files are read a chunk each in turn).',
  }),
  maxLineBytes: Type.Integer({
    minimum: 1024,
    default: DEFAULT_MAX_LINE_BYTES,
    description: 'Longest line (bytes) kept whole; longer ones are handed on in pieces.',
  }),
});
export type LogFileSourceOptions = Static<typeof LogFileSourceOptionsSchema>;
