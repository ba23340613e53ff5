export * from './types/batch.js';
export * from './types/messages.js';
export * from './types/severity.js';
export * from './topics/topics.js';
export * from './errors/errors.js';
export * from './errors/define-errors.js';
export * from './limits.js';
export * from './codec/batch-codec.js';
export * from './codec/control-codec.js';
export * from './codec/pull-codec.js';
export * from './codec/config-codec.js';
export { CodecOptionsSchema, resolveCodecOptions, type CodecOptions } from './codec/options.js';
export { FRAME_MAGIC, FRAME_HEADER_BYTES, MessageKind, FrameFlags, type MessageKindValue } from './wire/frame.js';
export { valueErrorMessage } from './validate/value-error.js';
export { parseTimeSpec, TIME_SPEC_HINT } from './validate/time-spec.js';
export { isWellFormed, toWellFormed } from './validate/well-formed.js';
export {
  validateBatch,
  validateMetricSummary,
  validateSpanSummary,
  CONTAINER_EVENT_KINDS,
  LOG_STREAMS,
  TRACE_ID_PATTERN,
} from './validate/batch.js';
export * from './sketch/index.js';
export * from './config/resolve-config.js';
export { hidePassword } from './config/hide-password.js';
export * from './collector-config/index.js';
