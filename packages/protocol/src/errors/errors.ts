/**
 * The protocol's error catalogue. Callers branch on `code`, never on message text; the ingester
 * uses the same code as the dead-letter reason and the rejection counter's label.
 */
import { defineErrors } from './define-errors.js';

export const ProtocolErrorCodes = {
  ET_ERR_TOO_LARGE: 'payload exceeds the size limit before decompression',
  ET_ERR_DECOMPRESSED_TOO_LARGE: 'payload exceeds the size limit after decompression',
  ET_ERR_TRUNCATED: 'payload ends before the data it announces',
  ET_ERR_BAD_MAGIC: 'payload does not start with the protocol magic bytes',
  ET_ERR_UNSUPPORTED_VERSION: 'protocol version is not supported',
  ET_ERR_CORRUPT_COMPRESSION: 'compressed data is corrupt',
  ET_ERR_INVALID_FIELD: 'a field is missing, of the wrong type or out of range',
  ET_ERR_UNKNOWN_REFERENCE:
    'batch was compressed against an earlier batch this side does not hold; the sender must send it standalone',
  ET_ERR_NODE_MISMATCH: 'node id in the message does not match the topic',
  ET_ERR_BAD_JSON: 'message is not valid JSON',
} as const;

export type ProtocolErrorCode = keyof typeof ProtocolErrorCodes;

export const ProtocolError = defineErrors('ProtocolError', ProtocolErrorCodes);
export type ProtocolError = InstanceType<typeof ProtocolError>;

/** Decoders return this instead of throwing, so hot paths count rejections without try/catch cost. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/**
 * A Result whose refusal says what it cost: how many bytes were decompressed before it (0 when
 * refused before decompressing), which a receiver charges to the sender's share.
 */
export type Costed<T> = { ok: true; value: T } | { ok: false; error: ProtocolError; decodedBytes: number };

/** The one way to build a Costed refusal, so every decoder charges decodedBytes the same way. */
export function costedRefusal(decodedBytes: number, code: ProtocolErrorCode, detail: string): Costed<never> {
  return { ok: false, error: new ProtocolError(code, detail), decodedBytes };
}
