import type {
  AckMessage,
  CommandMessage,
  ConfigCommand,
  ConfigStatus,
  NodeCapabilities,
  PullFilter,
  PullMessage,
  StatusMessage,
} from '../types/messages.js';
import { LOG_LEVEL_NAMES } from '../types/batch.js';
import { NODE_ID_PATTERN, PULL_ID_PATTERN } from '../topics/topics.js';
import { PROTOCOL_VERSION, limits } from '../limits.js';
import { ProtocolError } from '../errors/errors.js';
import { int, invalid, list, oneOf, pattern, record, stringMap, text, timestamp, uint } from './checks.js';

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
    ...(m.labels === undefined ? {} : { labels: stringMap(m.labels, '', 'labels') }),
    ...(m.config === undefined ? {} : { config: checkConfigStatus(m.config) }),
  };
}

const HASH_PATTERN = /^[0-9a-f]{64}$|^$/;
const MAX_RESTART_OPTIONS = 256;

function checkConfigStatus(value: unknown): ConfigStatus {
  const c = record(value, '', 'config');
  const out: ConfigStatus = {
    state: oneOf(c.state, 'config', 'state', ['applying', 'applied', 'failed'] as const),
    rev: uint(c.rev, 'config', 'rev'),
    appliedRev: uint(c.appliedRev, 'config', 'appliedRev'),
    docHash: pattern(c.docHash, 'config', 'docHash', HASH_PATTERN),
    effectiveHash: pattern(c.effectiveHash, 'config', 'effectiveHash', HASH_PATTERN),
  };
  if (c.reason !== undefined) out.reason = text(c.reason, 'config', 'reason', 4096);
  if (c.restartNeeded !== undefined)
    out.restartNeeded = list(c.restartNeeded, 'config', 'restartNeeded', MAX_RESTART_OPTIONS).map((x, i) =>
      text(x, 'config.restartNeeded', `[${i}]`, 256),
    );
  if (c.debugUntil !== undefined) out.debugUntil = timestamp(c.debugUntil, 'config', 'debugUntil');
  return out;
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
  return {
    logStore: c.logStore,
    control: versions('control'),
    batchFrames: versions('batchFrames'),
    ...(c.config === undefined ? {} : { config: versions('config') }),
  };
}

export function checkCommand(value: unknown): CommandMessage {
  const m = record(value, '', 'command');
  const v = version(m);
  const type = oneOf(m.type, '', 'type', ['pull', 'cancel', 'resend', 'config'] as const);
  if (type === 'config') return checkConfigCommand(m, v);
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

function checkConfigCommand(m: Record<string, unknown>, v: 1): ConfigCommand {
  return {
    v,
    type: 'config',
    rev: uint(m.rev, '', 'rev'),
    expiresAt: timestamp(m.expiresAt, '', 'expiresAt'),
    docVersion: int(m.docVersion, '', 'docVersion', 1, 255),
    hash: pattern(m.hash, '', 'hash', /^[0-9a-f]{64}$/),
    // The whole message is capped at maxControlMessageBytes; the document's decoded size when it is unpacked.
    doc: pattern(m.doc, '', 'doc', /^[A-Za-z0-9+/]*={0,2}$/),
  };
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
