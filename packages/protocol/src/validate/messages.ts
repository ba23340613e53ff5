import type {
  AckMessage,
  CommandMessage,
  NodeCapabilities,
  PullFilter,
  PullMessage,
  StatusMessage,
} from '../types/messages.js';
import { LOG_LEVEL_NAMES } from '../types/batch.js';
import { NODE_ID_PATTERN, PULL_ID_PATTERN } from '../topics/topics.js';
import { PROTOCOL_VERSION, limits } from '../limits.js';
import { ProtocolError } from '../errors/errors.js';
import { int, invalid, list, oneOf, pattern, record, text, timestamp, uint } from './checks.js';

/**
 * Validators for the JSON control messages. Each returns a fresh object holding only the known
 * fields (unknown ones are dropped, so a newer sender's extras cannot leak into storage), and
 * throws ProtocolError; callers wrap them with guard().
 */
function version(m: Record<string, unknown>): 1 {
  if (m.v === undefined) invalid('v', 'missing');
  if (m.v !== PROTOCOL_VERSION)
    throw new ProtocolError(
      'ET_ERR_UNSUPPORTED_VERSION',
      `v: ${JSON.stringify(m.v)}, this side speaks ${PROTOCOL_VERSION}`,
    );
  return PROTOCOL_VERSION;
}

export function checkAck(value: unknown): AckMessage {
  const m = record(value, '', 'ack');
  return {
    v: version(m),
    node: pattern(m.node, '', 'node', NODE_ID_PATTERN),
    epoch: uint(m.epoch, '', 'epoch'),
    seqs: list(m.seqs, '', 'seqs', limits.maxItemsPerSection).map((s, i) => uint(s, 'seqs', `[${i}]`)),
    ...(m.resend === undefined
      ? {}
      : { resend: list(m.resend, '', 'resend', limits.maxItemsPerSection).map((s, i) => uint(s, 'resend', `[${i}]`)) }),
  };
}

export function checkStatus(value: unknown): StatusMessage {
  const m = record(value, '', 'status');
  return {
    v: version(m),
    node: pattern(m.node, '', 'node', NODE_ID_PATTERN),
    state: oneOf(m.state, '', 'state', ['online', 'offline'] as const),
    at: timestamp(m.at, '', 'at'),
    agentVersion: text(m.agentVersion, '', 'agentVersion', 256),
    ...(m.capabilities === undefined ? {} : { capabilities: checkCapabilities(m.capabilities) }),
  };
}

/** Versions are small numbers; a handful of them is all a node can speak. */
const MAX_VERSIONS = 16;

function checkCapabilities(value: unknown): NodeCapabilities {
  const c = record(value, '', 'capabilities');
  if (typeof c.logStore !== 'boolean') invalid('capabilities.logStore', 'expected a boolean');
  const versions = (field: string) =>
    list(c[field], 'capabilities', field, MAX_VERSIONS).map((x, i) =>
      int(x, `capabilities.${field}`, `[${i}]`, 1, 255),
    );
  return { logStore: c.logStore, control: versions('control'), batchFrames: versions('batchFrames') };
}

export function checkCommand(value: unknown): CommandMessage {
  const m = record(value, '', 'command');
  const v = version(m);
  const type = oneOf(m.type, '', 'type', ['pull', 'cancel', 'resend'] as const);
  const pullId = pattern(m.pullId, '', 'pullId', PULL_ID_PATTERN);
  const expiresAt = timestamp(m.expiresAt, '', 'expiresAt');
  switch (type) {
    case 'pull':
      return {
        v,
        type,
        pullId,
        expiresAt,
        filter: checkFilter(m.filter),
        fromChunk: uint(m.fromChunk, '', 'fromChunk'),
      };
    case 'cancel':
      return { v, type, pullId, expiresAt };
    case 'resend':
      return {
        v,
        type,
        pullId,
        expiresAt,
        chunks: list(m.chunks, '', 'chunks', limits.maxItemsPerSection).map((c, i) => uint(c, 'chunks', `[${i}]`)),
      };
  }
}

function checkFilter(value: unknown): PullFilter {
  const f = record(value, '', 'filter');
  const out: PullFilter = { since: timestamp(f.since, 'filter', 'since') };
  if (f.container !== undefined) out.container = text(f.container, 'filter', 'container', 1024);
  if (f.until !== undefined) out.until = timestamp(f.until, 'filter', 'until');
  if (f.tail !== undefined) out.tail = uint(f.tail, 'filter', 'tail');
  if (f.level !== undefined) out.level = oneOf(f.level, 'filter', 'level', LOG_LEVEL_NAMES);
  if (f.grep !== undefined) out.grep = text(f.grep, 'filter', 'grep', 1024);
  if (f.maxBytes !== undefined) out.maxBytes = uint(f.maxBytes, 'filter', 'maxBytes');
  if (out.until !== undefined && out.until < out.since) invalid('filter.until', 'before since');
  return out;
}

export function checkPullEnd(value: unknown): Extract<PullMessage, { type: 'end' }> {
  const m = record(value, '', 'pull');
  const v = version(m);
  if (m.type !== 'end') invalid('type', 'expected "end" (chunks are binary)');
  const out: Extract<PullMessage, { type: 'end' }> = {
    v,
    type: 'end',
    node: pattern(m.node, '', 'node', NODE_ID_PATTERN),
    pullId: pattern(m.pullId, '', 'pullId', PULL_ID_PATTERN),
    chunks: uint(m.chunks, '', 'chunks'),
    lines: uint(m.lines, '', 'lines'),
    bytes: uint(m.bytes, '', 'bytes'),
    digest: text(m.digest, '', 'digest', 256),
  };
  if (m.error !== undefined) out.error = text(m.error, '', 'error', 4096);
  return out;
}
