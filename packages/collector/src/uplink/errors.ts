/**
 * The uplink's error catalogue (the collector's package catalogue, src/errors.ts, can absorb it
 * unchanged). Callers and tests branch on `code`, never on message text.
 */
import { defineErrors } from '@edge-telemetry/protocol';

export const UplinkErrorCodes = {
  ET_ERR_RECORD_TOO_LARGE: 'an outbox record exceeds the configured record size cap',
  ET_ERR_OUTBOX_FULL: 'the outbox cap is reached and only more valuable records remain',
  ET_ERR_OUTBOX_CLOSED: 'the outbox is closed',
  ET_ERR_OUTBOX_IO: 'the outbox could not read or write its directory',
  ET_ERR_UPLINK_CLOSED: 'the uplink is closed',
  ET_ERR_BAD_OPTIONS: 'options do not match the schema',
} as const;

export type UplinkErrorCode = keyof typeof UplinkErrorCodes;

export const UplinkError = defineErrors('UplinkError', UplinkErrorCodes);
export type UplinkError = InstanceType<typeof UplinkError>;
