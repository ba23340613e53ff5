import { describe, expect, it } from 'vitest';
import { Compressor } from 'zstd-napi';
import { createBatchCodec } from './batch-codec.js';
import { writeBatchBody } from './batch-body-writer.js';
import { ProtocolError, ProtocolErrorCodes } from '../errors/errors.js';
import { validateBatch } from '../validate/batch.js';
import { writeFrameHeader, MessageKind } from '../wire/frame.js';
import { BATCH_FRAME_VERSION, limits } from '../limits.js';
import { intIn, randomBatch, seededRng, type Rng } from '../testing/index.js';

const codec = createBatchCodec();
const compressor = new Compressor();
const frame = (body: Uint8Array): Buffer =>
  Buffer.concat([writeFrameHeader(MessageKind.batch, 0, BATCH_FRAME_VERSION), compressor.compress(body)]);

/** Damage of the kinds a broken or hostile sender produces. */
function mutate(rng: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (intIn(rng, 0, 4)) {
    case 0: // bit flips
      for (let i = intIn(rng, 1, 4); i > 0; i--) {
        const at = intIn(rng, 0, b.length - 1);
        b[at] = (b[at] as number) ^ (1 << intIn(rng, 0, 7));
      }
      return b;
    case 1: // truncation
      return b.subarray(0, intIn(rng, 0, b.length - 1));
    case 2: {
      // length/count corruption: a varint-sized run of 0xff (huge) or 0x00 (zero) somewhere
      const at = intIn(rng, 0, b.length - 1);
      const fill = rng() < 0.5 ? 0xff : 0x00;
      for (let i = 0; i < intIn(rng, 1, 8) && at + i < b.length; i++) b[at + i] = fill;
      return b;
    }
    case 3: {
      // random bytes inserted
      const at = intIn(rng, 0, b.length);
      const extra = Buffer.from(Array.from({ length: intIn(rng, 1, 16) }, () => intIn(rng, 0, 255)));
      return Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    }
    default: {
      // one byte replaced by a random value
      b[intIn(rng, 0, b.length - 1)] = intIn(rng, 0, 255);
      return b;
    }
  }
}

function check(bytes: Uint8Array): 'ok' | 'rejected' {
  const r = codec.decode(bytes);
  if (r.ok) {
    // Whatever decodes is a batch the protocol allows, and encodes back to the same batch.
    // (Compared as JSON: vitest's deep equality costs milliseconds per batch, and exactness is round-trip's job.)
    if (!validateBatch(r.value).ok) throw new Error('decoded an invalid batch');
    const again = codec.decode(codec.encode(r.value));
    if (!again.ok || JSON.stringify(again.value) !== JSON.stringify(r.value))
      throw new Error('decoded batch does not re-encode to itself');
    return 'ok';
  }
  if (!(r.error instanceof ProtocolError) || !(r.error.code in ProtocolErrorCodes) || r.error.detail.length === 0)
    throw new Error(`bad rejection: ${String(r.error)}`);
  return 'rejected';
}

describe('fuzzed batch decoding (seeded)', () => {
  it('3000 mutated bodies (re-compressed, so the body decoder sees them) are each rejected or valid; nothing throws', () => {
    const rng = seededRng(20261128);
    const bodies = Array.from({ length: 30 }, (_, i) => writeBatchBody(randomBatch(seededRng(1000 + i))));
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < 3000; i++) {
      const body = bodies[i % bodies.length] as Buffer;
      outcomes[check(frame(mutate(rng, body)))]++;
    }
    // Both paths must actually be exercised for the test to mean anything.
    expect(outcomes.rejected).toBeGreaterThan(1000);
    expect(outcomes.ok).toBeGreaterThan(10);
  });

  it('2000 mutated wire frames (header and zstd damaged) are each rejected or valid; nothing throws', () => {
    const rng = seededRng(42);
    const frames = Array.from({ length: 20 }, (_, i) => codec.encode(randomBatch(seededRng(2000 + i))));
    let rejected = 0;
    for (let i = 0; i < 2000; i++)
      if (check(mutate(rng, frames[i % frames.length] as Buffer)) === 'rejected') rejected++;
    expect(rejected).toBeGreaterThan(1000);
  });

  it('decompression bombs of every shape are refused within the limit', () => {
    for (const size of [limits.maxBatchDecodedBytes + 1, 64 * 1024 * 1024]) {
      const r = codec.decode(frame(Buffer.alloc(size)));
      expect(!r.ok && r.error.code).toBe('ET_ERR_DECOMPRESSED_TOO_LARGE');
    }
    // A body just under the decoded limit decompresses, then fails as a body, not as a bomb.
    const r = codec.decode(frame(Buffer.alloc(limits.maxBatchDecodedBytes - 1)));
    expect(!r.ok && r.error.code).not.toBe('ET_ERR_DECOMPRESSED_TOO_LARGE');
  });
});
