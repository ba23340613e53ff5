/**
 * Log-pull messages on `et/v1/{node}/up/pull/{pullId}`. A chunk is binary, because it is large:
 *
 *   frame header (kind 2) · node str · pullId str · seq uint · lineCount uint · zstd(lines joined by '\n')
 *
 * (str = uint length + UTF-8). The final `end` message is small JSON with `v` like the other control
 * messages; decode tells them apart by the first byte ('{' or the magic).
 */
import type { PullMessage } from '../types/messages.js';
import { ProtocolError, type Result } from '../errors/errors.js';
import { limits } from '../limits.js';
import { NODE_ID_PATTERN, PULL_ID_PATTERN } from '../topics/topics.js';
import { ByteReader } from '../wire/byte-reader.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { FRAME_HEADER_BYTES, FrameFlags, MessageKind, readFrameHeader, writeFrameHeader } from '../wire/frame.js';
import { createZstd } from '../wire/zstd.js';
import { guard, invalid, list, pattern, text, uint } from '../validate/checks.js';
import { checkPullEnd } from '../validate/messages.js';
import { decodeJson } from './control-codec.js';
import { resolveCodecOptions, type CodecOptions } from './options.js';

export type PullChunk = Extract<PullMessage, { type: 'chunk' }>;

export interface PullCodec {
  /** Throws ProtocolError for a message the receiver would refuse: ET_ERR_INVALID_FIELD (e.g. a line holding '\n'), ET_ERR_TOO_LARGE / ET_ERR_DECOMPRESSED_TOO_LARGE (split the chunk). */
  encode(m: PullMessage): Buffer;
  /** `topicNode`/`topicPullId`: from the topic it arrived on; a different value inside is rejected. Never throws. */
  decode(bytes: Uint8Array, topicNode?: string, topicPullId?: string): Result<PullMessage>;
}

export function createPullCodec(opts: Partial<CodecOptions> = {}): PullCodec {
  const o = resolveCodecOptions(opts);
  const zstd = createZstd({ level: o.level, dictionary: o.dictionary });
  const flags = zstd.hasDictionary ? FrameFlags.dictionary : 0;
  const utf8 = new TextDecoder('utf-8', { fatal: true });

  function encodeChunk(m: PullChunk): Buffer {
    const v = guard(() => checkChunkFields(m));
    if (!v.ok) throw v.error;
    const w = new ByteWriter(256);
    w.str(m.node);
    w.str(m.pullId);
    w.uint(m.seq);
    w.uint(m.lines.length);
    const text = Buffer.from(m.lines.join('\n'), 'utf8');
    if (text.length > limits.maxPullChunkDecodedBytes)
      throw new ProtocolError(
        'ET_ERR_DECOMPRESSED_TOO_LARGE',
        `lines: ${text.length} bytes, limit ${limits.maxPullChunkDecodedBytes}`,
      );
    const out = Buffer.concat([writeFrameHeader(MessageKind.pullChunk, flags), w.view(), zstd.compress(text)]);
    if (out.length > limits.maxPullChunkWireBytes)
      throw new ProtocolError(
        'ET_ERR_TOO_LARGE',
        `pull chunk: ${out.length} bytes, limit ${limits.maxPullChunkWireBytes}`,
      );
    return out;
  }

  function decodeChunk(bytes: Uint8Array): Result<PullChunk> {
    if (bytes.length > limits.maxPullChunkWireBytes)
      return fail('ET_ERR_TOO_LARGE', `pull chunk: ${bytes.length} bytes, limit ${limits.maxPullChunkWireBytes}`);
    const header = readFrameHeader(bytes, MessageKind.pullChunk);
    if (!header.ok) return header;
    const r: ByteReader = new ByteReader(bytes, FRAME_HEADER_BYTES);
    const head = guard(() => {
      r.field = 'node';
      const node = pattern(r.str(64), '', 'node', NODE_ID_PATTERN);
      r.field = 'pullId';
      const pullId = pattern(r.str(64), '', 'pullId', PULL_ID_PATTERN);
      r.field = 'seq';
      const seq = r.uint();
      r.field = 'lineCount';
      const lineCount = r.uint();
      if (lineCount > limits.maxPullChunkDecodedBytes + 1)
        invalid('lineCount', `${lineCount} lines cannot fit ${limits.maxPullChunkDecodedBytes} bytes`);
      return { node, pullId, seq, lineCount };
    });
    if (!head.ok) return head;
    const body = zstd.decompress(
      bytes.subarray(r.pos),
      limits.maxPullChunkDecodedBytes,
      (header.value.flags & FrameFlags.dictionary) !== 0,
    );
    if (!body.ok) return body;
    let joined: string;
    try {
      joined = utf8.decode(body.value);
    } catch {
      return fail('ET_ERR_INVALID_FIELD', 'lines: invalid UTF-8');
    }
    const { node, pullId, seq, lineCount } = head.value;
    const lines = lineCount === 0 ? [] : joined.split('\n');
    if (lineCount === 0 && joined.length !== 0)
      return fail('ET_ERR_INVALID_FIELD', 'lines: text present but lineCount is 0');
    if (lines.length !== lineCount)
      return fail('ET_ERR_INVALID_FIELD', `lines: ${lines.length} lines, header says ${lineCount}`);
    return { ok: true, value: { v: 1, type: 'chunk', node, pullId, seq, lines } };
  }

  return {
    encode(m) {
      if (m.type === 'chunk') return encodeChunk(m);
      const v = guard(() => checkPullEnd(m));
      if (!v.ok) throw v.error;
      return Buffer.from(JSON.stringify(m));
    },
    decode(bytes, topicNode, topicPullId) {
      const r: Result<PullMessage> = bytes[0] === 0x7b ? decodeJson(bytes, checkPullEnd) : decodeChunk(bytes);
      if (!r.ok) return r;
      if (topicNode !== undefined && r.value.node !== topicNode)
        return fail(
          'ET_ERR_NODE_MISMATCH',
          `node: ${JSON.stringify(r.value.node)} in the message, ${JSON.stringify(topicNode)} in the topic`,
        );
      if (topicPullId !== undefined && r.value.pullId !== topicPullId)
        return fail(
          'ET_ERR_INVALID_FIELD',
          `pullId: ${JSON.stringify(r.value.pullId)} in the message, ${JSON.stringify(topicPullId)} in the topic`,
        );
      return r;
    },
  };
}

function checkChunkFields(m: PullChunk): void {
  if (m.v !== 1) invalid('v', 'expected 1');
  pattern(m.node, '', 'node', NODE_ID_PATTERN);
  pattern(m.pullId, '', 'pullId', PULL_ID_PATTERN);
  uint(m.seq, '', 'seq');
  list(m.lines, '', 'lines', limits.maxPullChunkDecodedBytes).forEach((v, i) => {
    const l = text(v, 'lines', `[${i}]`, limits.maxPullChunkDecodedBytes);
    if (l.includes('\n')) invalid(`lines[${i}]`, 'contains a newline (lines are newline-joined on the wire)');
  });
}

function fail<T>(code: ProtocolError['code'], detail: string): Result<T> {
  return { ok: false, error: new ProtocolError(code, detail) };
}

/**
 * One-shot helpers with the codec API's shape. Each call creates zstd contexts (tens of µs); a
 * pull sender or receiver that handles many chunks holds a createPullCodec() instead.
 */
export const encodePull = (m: PullMessage): Buffer => createPullCodec().encode(m);
export const decodePull = (bytes: Uint8Array, topicNode?: string, topicPullId?: string): Result<PullMessage> =>
  createPullCodec().decode(bytes, topicNode, topicPullId);
