import { describe, expect, it } from 'vitest';
import { Compressor } from 'zstd-napi';
import { createPullCodec, decodePull, encodePull, type PullChunk } from './pull-codec.js';
import type { PullMessage } from '../types/messages.js';
import type { ProtocolErrorCode, Result } from '../errors/errors.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { MessageKind, writeFrameHeader } from '../wire/frame.js';
import { limits } from '../limits.js';
import { seededRng, intIn } from '../testing/prng.js';

function expectCode<T>(r: Result<T>, code: ProtocolErrorCode, detail?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (detail) expect(r.error.detail).toMatch(detail);
}

const chunk: PullChunk = {
  v: 1,
  type: 'chunk',
  node: 'gw-1',
  pullId: 'p-1',
  seq: 3,
  lines: ['2026-11-28T05:00:00Z INFO started', '', 'ünïcode ✓ 😀', '{"log":"json line"}'],
};
const end: PullMessage = {
  v: 1,
  type: 'end',
  node: 'gw-1',
  pullId: 'p-1',
  chunks: 4,
  lines: 1200,
  bytes: 98_000,
  digest: 'sha256:abc',
};

/** A chunk frame with a hand-made header and line text. */
function rawChunk(o: { node?: string; pullId?: string; seq?: number; lineCount: number; text: Buffer }): Buffer {
  const w = new ByteWriter();
  w.str(o.node ?? 'gw-1');
  w.str(o.pullId ?? 'p-1');
  w.uint(o.seq ?? 0);
  w.uint(o.lineCount);
  return Buffer.concat([writeFrameHeader(MessageKind.pullChunk, 0), w.view(), new Compressor().compress(o.text)]);
}

describe('pull messages', () => {
  const codec = createPullCodec();

  it('round-trips chunks (binary) and the end message (JSON), with topic checks', () => {
    const bytes = codec.encode(chunk);
    expect(bytes[0]).toBe(0x45);
    expect(codec.decode(bytes, 'gw-1', 'p-1')).toEqual({ ok: true, value: chunk });
    for (const lines of [[], [''], ['a'], ['', '']]) {
      const m = { ...chunk, lines };
      expect(codec.decode(codec.encode(m))).toEqual({ ok: true, value: m });
    }
    const e = encodePull(end);
    expect(e[0]).toBe(0x7b);
    expect(decodePull(e, 'gw-1', 'p-1')).toEqual({ ok: true, value: end });
    expect(decodePull(encodePull({ ...end, error: 'store rotated' }))).toEqual({
      ok: true,
      value: { ...end, error: 'store rotated' },
    });
  });

  it('compresses real-sized chunks well below the wire cap', () => {
    const rng = seededRng(5);
    const lines = Array.from(
      { length: 5000 },
      (_, i) =>
        `2026-11-28T05:00:${String(i % 60).padStart(2, '0')}Z INFO request id=${intIn(rng, 0, 1e6)} took ${intIn(rng, 1, 900)}ms`,
    );
    const bytes = codec.encode({ ...chunk, lines });
    expect(bytes.length).toBeLessThan(limits.maxPullChunkWireBytes);
    expect(codec.decode(bytes)).toEqual({ ok: true, value: { ...chunk, lines } });
  });

  it('refuses to encode lines holding a newline, and chunks over the limits', () => {
    expect(() => codec.encode({ ...chunk, lines: ['a\nb'] })).toThrow(/lines\[0\].*newline/);
    expect(() =>
      codec.encode({
        ...chunk,
        lines: ['x'.repeat(limits.maxPullChunkDecodedBytes / 2), 'y'.repeat(limits.maxPullChunkDecodedBytes / 2)],
      }),
    ).toThrow(/ET_ERR_INVALID_FIELD|ET_ERR_DECOMPRESSED_TOO_LARGE/);
    const rng = seededRng(1);
    const noise = Array.from({ length: 4000 }, () =>
      Array.from({ length: 80 }, () => String.fromCharCode(intIn(rng, 33, 126))).join(''),
    );
    expect(() => codec.encode({ ...chunk, lines: noise })).toThrow(/ET_ERR_TOO_LARGE/);
  });

  it('rejects bad chunks with a code and the field', () => {
    expectCode(codec.decode(Buffer.alloc(limits.maxPullChunkWireBytes + 1)), 'ET_ERR_TOO_LARGE');
    expectCode(codec.decode(codec.encode(chunk), 'gw-2'), 'ET_ERR_NODE_MISMATCH');
    expectCode(codec.decode(codec.encode(chunk), 'gw-1', 'p-9'), 'ET_ERR_INVALID_FIELD', /pullId/);
    expectCode(
      codec.decode(rawChunk({ node: 'bad node', lineCount: 0, text: Buffer.alloc(0) })),
      'ET_ERR_INVALID_FIELD',
      /^node/,
    );
    expectCode(
      codec.decode(rawChunk({ lineCount: 3, text: Buffer.from('a\nb') })),
      'ET_ERR_INVALID_FIELD',
      /2 lines, header says 3/,
    );
    expectCode(
      codec.decode(rawChunk({ lineCount: 0, text: Buffer.from('x') })),
      'ET_ERR_INVALID_FIELD',
      /lineCount is 0/,
    );
    expectCode(
      codec.decode(rawChunk({ lineCount: 1, text: Buffer.from([0xc0, 0xaf]) })),
      'ET_ERR_INVALID_FIELD',
      /UTF-8/,
    );
    expectCode(
      codec.decode(rawChunk({ lineCount: 1, text: Buffer.alloc(limits.maxPullChunkDecodedBytes + 1, 0x61) })),
      'ET_ERR_DECOMPRESSED_TOO_LARGE',
    );
    const truncated = codec.encode(chunk).subarray(0, 8);
    expectCode(codec.decode(truncated), 'ET_ERR_TRUNCATED');
    const wrongKind = Buffer.from(codec.encode(chunk));
    wrongKind[3] = MessageKind.batch;
    expectCode(codec.decode(wrongKind), 'ET_ERR_INVALID_FIELD', /kind/);
    expectCode(codec.decode(Buffer.from(JSON.stringify({ ...end, chunks: -1 }))), 'ET_ERR_INVALID_FIELD', /^chunks/);
    expectCode(codec.decode(Buffer.from(JSON.stringify({ ...end, type: 'chunk' }))), 'ET_ERR_INVALID_FIELD', /^type/);
  });

  it('never throws on 2000 mutated chunks (seeded)', () => {
    const rng = seededRng(11);
    const good = codec.encode(chunk);
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(good.subarray(0, intIn(rng, 1, good.length)));
      for (let k = intIn(rng, 0, 3); k > 0; k--) b[intIn(rng, 0, b.length - 1)] = intIn(rng, 0, 255);
      const r = codec.decode(b);
      if (r.ok) expect(r.value.node).toMatch(/^[A-Za-z0-9]/);
      else expect(r.error.detail.length).toBeGreaterThan(0);
    }
  });
});
