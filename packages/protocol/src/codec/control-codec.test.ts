import { describe, expect, it } from 'vitest';
import {
  decodeAck,
  decodeCommand,
  decodeStatus,
  encodeAck,
  encodeCommand,
  encodeStatus,
  nodeCapabilities,
} from './control-codec.js';
import type { AckMessage, CommandMessage, StatusMessage } from '../types/messages.js';
import type { ProtocolErrorCode, Result } from '../errors/errors.js';
import { limits } from '../limits.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
function expectCode<T>(r: Result<T>, code: ProtocolErrorCode, detail?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (detail) expect(r.error.detail).toMatch(detail);
}

const ack: AckMessage = { v: 1, node: 'gw-1', epoch: 3, seqs: [1, 2, 5] };
const status: StatusMessage = { v: 1, node: 'gw-1', state: 'online', at: 1_764_300_000_000, agentVersion: '0.1.0' };
const commands: CommandMessage[] = [
  {
    v: 1,
    type: 'pull',
    pullId: 'p-1',
    expiresAt: 1_764_300_600_000,
    filter: {
      container: 'api',
      since: 1_764_290_000_000,
      until: 1_764_300_000_000,
      tail: 100,
      level: 'warn',
      grep: 'timeout',
      maxBytes: 1_000_000,
    },
    fromChunk: 0,
  },
  { v: 1, type: 'pull', pullId: 'p-2', expiresAt: 1, filter: { since: 0 }, fromChunk: 4 },
  { v: 1, type: 'cancel', pullId: 'p-1', expiresAt: 1_764_300_600_000 },
  { v: 1, type: 'resend', pullId: 'p-1', expiresAt: 1_764_300_600_000, chunks: [3, 7] },
];

describe('control messages round trip', () => {
  it('ack, status and every command kind', () => {
    expect(decodeAck(encodeAck(ack), 'gw-1')).toEqual({ ok: true, value: ack });
    expect(decodeStatus(encodeStatus(status), 'gw-1')).toEqual({ ok: true, value: status });
    // The birth message says what the node can do; the last will leaves it out.
    const birth: StatusMessage = { ...status, capabilities: nodeCapabilities(false) };
    expect(decodeStatus(encodeStatus(birth), 'gw-1')).toEqual({ ok: true, value: birth });
    expect(birth.capabilities).toEqual({
      logStore: false,
      control: [1],
      batchFrames: [expect.any(Number)],
      config: [1],
    });
    for (const c of commands) expect(decodeCommand(encodeCommand(c))).toEqual({ ok: true, value: c });
  });

  it('drops unknown fields instead of passing them on', () => {
    const r = decodeAck(json({ ...ack, extra: { deep: true } }));
    expect(r).toEqual({ ok: true, value: ack });
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeAck({ ...ack, seqs: [-1] })).toThrow(/seqs\[0\]/);
  });
});

describe('control messages reject bad input with a code and a field path', () => {
  it('not JSON, not UTF-8, too large', () => {
    expectCode(decodeAck(Buffer.from('{"v":1,')), 'ET_ERR_BAD_JSON');
    expectCode(decodeAck(Buffer.from([0x7b, 0xff, 0x7d])), 'ET_ERR_BAD_JSON');
    expectCode(decodeStatus(Buffer.alloc(limits.maxControlMessageBytes + 1, 0x20)), 'ET_ERR_TOO_LARGE');
  });

  it('version missing or unsupported', () => {
    expectCode(decodeAck(json({ ...ack, v: undefined })), 'ET_ERR_INVALID_FIELD', /^v: missing/);
    expectCode(decodeAck(json({ ...ack, v: 2 })), 'ET_ERR_UNSUPPORTED_VERSION', /^v: 2/);
  });

  it('wrong types and ranges', () => {
    expectCode(decodeAck(json([1, 2])), 'ET_ERR_INVALID_FIELD', /^ack/);
    expectCode(decodeAck(json({ ...ack, node: '../etc' })), 'ET_ERR_INVALID_FIELD', /^node/);
    expectCode(decodeAck(json({ ...ack, epoch: 1.5 })), 'ET_ERR_INVALID_FIELD', /^epoch/);
    expectCode(decodeAck(json({ ...ack, seqs: [1, 'x'] })), 'ET_ERR_INVALID_FIELD', /^seqs\[1\]/);
    expectCode(decodeStatus(json({ ...status, state: 'sleeping' })), 'ET_ERR_INVALID_FIELD', /^state/);
    expectCode(decodeStatus(json({ ...status, at: -1 })), 'ET_ERR_INVALID_FIELD', /^at/);
    const caps = nodeCapabilities(true);
    expectCode(
      decodeStatus(json({ ...status, capabilities: { ...caps, logStore: 1 } })),
      'ET_ERR_INVALID_FIELD',
      /^capabilities.logStore/,
    );
    expectCode(
      decodeStatus(json({ ...status, capabilities: { ...caps, control: [0] } })),
      'ET_ERR_INVALID_FIELD',
      /^capabilities.control/,
    );
    expectCode(
      decodeStatus(json({ ...status, capabilities: { ...caps, batchFrames: Array(17).fill(4) } })),
      'ET_ERR_INVALID_FIELD',
      /^capabilities.batchFrames/,
    );
    expectCode(decodeCommand(json({ ...commands[0], type: 'format-disk' })), 'ET_ERR_INVALID_FIELD', /^type/);
    expectCode(decodeCommand(json({ ...commands[0], pullId: 'a/b' })), 'ET_ERR_INVALID_FIELD', /^pullId/);
    expectCode(
      decodeCommand(json({ ...commands[0], filter: { since: 5, until: 4 } })),
      'ET_ERR_INVALID_FIELD',
      /^filter\.until/,
    );
    expectCode(
      decodeCommand(json({ ...commands[0], filter: { since: 0, level: 'loud' } })),
      'ET_ERR_INVALID_FIELD',
      /^filter\.level/,
    );
    expectCode(
      decodeCommand(json({ ...commands[0], filter: { since: 0, grep: 'x'.repeat(2000) } })),
      'ET_ERR_INVALID_FIELD',
      /^filter\.grep/,
    );
    expectCode(
      decodeCommand(json({ ...commands[3], chunks: new Array(limits.maxItemsPerSection + 1).fill(0) })),
      'ET_ERR_TOO_LARGE',
    );
    expectCode(decodeCommand(json({ ...commands[3], chunks: 'all' })), 'ET_ERR_INVALID_FIELD', /^chunks/);
  });

  it('node id must equal the topic node', () => {
    expectCode(decodeStatus(encodeStatus(status), 'gw-2'), 'ET_ERR_NODE_MISMATCH');
    expectCode(decodeAck(encodeAck(ack), 'gw-2'), 'ET_ERR_NODE_MISMATCH');
  });
});
