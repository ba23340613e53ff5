/**
 * Error codes of the log pipeline (to be merged into the collector's catalogue, src/errors.ts).
 * Callers and tests branch on `code`, never on message text.
 */
import { defineErrors } from '@edge-telemetry/protocol';

export const LogErrorCodes = {
  ET_ERR_LOG_OPTIONS: 'log pipeline options are invalid',
  ET_ERR_LOG_PATTERN: 'a configured regular expression does not compile',
  ET_ERR_STORE_CLOSED: 'the log store is closed',
  ET_ERR_CHECKPOINT_CORRUPT: 'the log reader checkpoint file cannot be parsed',
} as const;

export type LogErrorCode = keyof typeof LogErrorCodes;

export const LogError = defineErrors('LogError', LogErrorCodes);
export type LogError = InstanceType<typeof LogError>;
