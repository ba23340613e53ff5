// PROVISIONAL (validation being added): JSON control messages with the final API.
import type { AckMessage, CommandMessage, PullMessage, StatusMessage } from '../types/messages.js';
import { ProtocolError, type Result } from '../errors/errors.js';

function json<T>(bytes: Uint8Array): Result<T> {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) as T };
  } catch (err) {
    return { ok: false, error: new ProtocolError('ET_ERR_BAD_JSON', (err as Error).message) };
  }
}
export const encodeAck = (m: AckMessage): Buffer => Buffer.from(JSON.stringify(m));
export const decodeAck = (b: Uint8Array): Result<AckMessage> => json<AckMessage>(b);
export const encodeStatus = (m: StatusMessage): Buffer => Buffer.from(JSON.stringify(m));
export const decodeStatus = (b: Uint8Array, topicNode?: string): Result<StatusMessage> => {
  const r = json<StatusMessage>(b);
  if (r.ok && topicNode !== undefined && r.value.node !== topicNode) return { ok: false, error: new ProtocolError('ET_ERR_NODE_MISMATCH', `${r.value.node} != ${topicNode}`) };
  return r;
};
export const encodeCommand = (m: CommandMessage): Buffer => Buffer.from(JSON.stringify(m));
export const decodeCommand = (b: Uint8Array): Result<CommandMessage> => json<CommandMessage>(b);
export const encodePull = (m: PullMessage): Buffer => Buffer.from(JSON.stringify(m));
export const decodePull = (b: Uint8Array, topicNode?: string): Result<PullMessage> => json<PullMessage>(b);
