/**
 * The small control messages: JSON with `v`, validated field by field on the way in. Small and rare,
 * so readability on the wire (mosquitto_sub) is worth more than bytes.
 */
import type { AckMessage, CommandMessage, NodeCapabilities, StatusMessage } from '../types/messages.js';
import { ProtocolError, type Result } from '../errors/errors.js';
import { BATCH_FRAME_VERSION, CONFIG_DOC_VERSION, PROTOCOL_VERSION, limits } from '../limits.js';
import { guard } from '../validate/checks.js';
import { checkAck, checkCommand, checkStatus } from '../validate/messages.js';

/** Parses size-capped, strictly UTF-8 JSON, then runs `check`; never throws. */
export function decodeJson<T extends object>(
  bytes: Uint8Array,
  check: (v: unknown) => T,
  topicNode?: string,
): Result<T> {
  if (bytes.length > limits.maxControlMessageBytes)
    return {
      ok: false,
      error: new ProtocolError(
        'ET_ERR_TOO_LARGE',
        `message: ${bytes.length} bytes, limit ${limits.maxControlMessageBytes}`,
      ),
    };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, error: new ProtocolError('ET_ERR_BAD_JSON', err instanceof Error ? err.message : String(err)) };
  }
  const r = guard(() => check(parsed));
  if (!r.ok) return r;
  const node = r.ok && 'node' in r.value ? r.value.node : undefined;
  if (topicNode !== undefined && node !== topicNode) {
    return {
      ok: false,
      error: new ProtocolError(
        'ET_ERR_NODE_MISMATCH',
        `node: ${JSON.stringify(node)} in the message, ${JSON.stringify(topicNode)} in the topic`,
      ),
    };
  }
  return r;
}

/** Validates before encoding, so a sender never publishes what the receiver refuses; throws ProtocolError. */
function encodeJson<T>(m: T, check: (v: unknown) => unknown): Buffer {
  const r = guard(() => check(m));
  if (!r.ok) throw r.error;
  return Buffer.from(JSON.stringify(m));
}

export const encodeAck = (m: AckMessage): Buffer => encodeJson(m, checkAck);
/** `topicNode`: the node of the topic it came on (`et/v1/{node}/down/ack`). */
export const decodeAck = (bytes: Uint8Array, topicNode?: string): Result<AckMessage> =>
  decodeJson(bytes, checkAck, topicNode);
export const encodeStatus = (m: StatusMessage): Buffer => encodeJson(m, checkStatus);
/** What a node built from this package can do: the versions it speaks, and whether it keeps a log store. */
export const nodeCapabilities = (logStore: boolean): NodeCapabilities => ({
  logStore,
  control: [PROTOCOL_VERSION],
  batchFrames: [BATCH_FRAME_VERSION],
  config: [CONFIG_DOC_VERSION],
});
export const decodeStatus = (bytes: Uint8Array, topicNode?: string): Result<StatusMessage> =>
  decodeJson(bytes, checkStatus, topicNode);
export const encodeCommand = (m: CommandMessage): Buffer => encodeJson(m, checkCommand);
export const decodeCommand = (bytes: Uint8Array): Result<CommandMessage> => decodeJson(bytes, checkCommand);
