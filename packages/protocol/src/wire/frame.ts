import { ProtocolError, type Result } from '../errors/errors.js';
import { PROTOCOL_VERSION } from '../limits.js';

/**
 * Every binary message starts with this 5-byte header:
 *   0-1 magic 'E' 'T' (0x45 0x54) · 2 protocol version · 3 message kind · 4 flags
 * so a receiver refuses foreign or future data before it decompresses anything.
 */
export const FRAME_MAGIC = [0x45, 0x54] as const;
export const FRAME_HEADER_BYTES = 5;

export const MessageKind = { batch: 1, pullChunk: 2 } as const;
export type MessageKindValue = (typeof MessageKind)[keyof typeof MessageKind];

export const FrameFlags = {
  /** The zstd frame was compressed with the dictionary configured on both ends. */
  dictionary: 0x01,
  /** (batches) The zstd frame was compressed against other batches' bodies (usually earlier ones), listed after the header. */
  references: 0x02,
  /** (batches) The receiver keeps this batch's body, so that later batches may refer to it. */
  keyframe: 0x04,
} as const;
const KNOWN_FLAGS = FrameFlags.dictionary | FrameFlags.references | FrameFlags.keyframe;

export interface FrameHeader {
  version: number;
  flags: number;
}

export function writeFrameHeader(kind: MessageKindValue, flags: number, version = PROTOCOL_VERSION): Buffer {
  return Buffer.from([FRAME_MAGIC[0], FRAME_MAGIC[1], version, kind, flags]);
}

/** Reads the header of a frame of the expected kind and version (the one this side reads). */
export function readFrameHeader(
  bytes: Uint8Array,
  kind: MessageKindValue,
  expected: number = PROTOCOL_VERSION,
): Result<FrameHeader> {
  if (bytes.length < FRAME_HEADER_BYTES)
    return fail('ET_ERR_TRUNCATED', `frame: ${bytes.length} bytes, header needs ${FRAME_HEADER_BYTES}`);
  if (bytes[0] !== FRAME_MAGIC[0] || bytes[1] !== FRAME_MAGIC[1])
    return fail('ET_ERR_BAD_MAGIC', `frame.magic: ${hex(bytes[0])} ${hex(bytes[1])}`);
  const version = bytes[2] as number;
  if (version !== expected)
    return fail('ET_ERR_UNSUPPORTED_VERSION', `frame.version: ${version}, this side reads ${expected}`);
  if (bytes[3] !== kind) return fail('ET_ERR_INVALID_FIELD', `frame.kind: ${String(bytes[3])}, expected ${kind}`);
  const flags = bytes[4] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0)
    return fail('ET_ERR_UNSUPPORTED_VERSION', `frame.flags: unknown bits 0x${flags.toString(16)}`);
  return { ok: true, value: { version, flags } };
}

function fail(code: ProtocolError['code'], detail: string): Result<never> {
  return { ok: false, error: new ProtocolError(code, detail) };
}

const hex = (b: number | undefined): string => `0x${(b ?? 0).toString(16).padStart(2, '0')}`;
