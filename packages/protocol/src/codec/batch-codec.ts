import { crc32 } from 'node:zlib';
import type { Batch } from '../types/batch.js';
import { ProtocolError, costedRefusal, type Costed, type Result } from '../errors/errors.js';
import { BATCH_FRAME_VERSION, limits } from '../limits.js';
import { ByteReader } from '../wire/byte-reader.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { createZstd } from '../wire/zstd.js';
import { FRAME_HEADER_BYTES, FrameFlags, MessageKind, readFrameHeader, writeFrameHeader } from '../wire/frame.js';
import { validateBatch } from '../validate/batch.js';
import { readBatchBody } from './batch-body.js';
import { writeBatchBody } from './batch-body-writer.js';
import { resolveCodecOptions, type CodecOptions } from './options.js';

/** Another batch of the same node and epoch (usually an earlier one) whose body both ends hold. */
export interface BatchReference {
  seq: number;
  /** The batch body (the bytes inside its zstd frame), as `reencode` returned it. */
  body: Uint8Array;
}

/**
 * What a batch frame says before its zstd frame. A frame with references carries its own
 * (epoch, seq), so a receiver lacking a reference can ask for the batch again without decoding it.
 */
export interface BatchFrameHead {
  version: number;
  /** The receiver must keep this batch's body for later references (FrameFlags.keyframe). */
  keyframe: boolean;
  /** Compressed with the dictionary configured on both ends (FrameFlags.dictionary). */
  dictionary: boolean;
  /** Set when the frame refers to earlier batches. */
  batch?: { epoch: number; seq: number };
  /** The seqs of other batches of the same epoch (usually earlier ones), in dictionary order. */
  references: number[];
  /**
   * With references: the CRC-32 of the references' CRC-32s (each u32le, in order), which catches a
   * differing body as surely as one CRC per reference, at 4 bytes for all of them.
   */
  referenceCrc?: number;
  /** Where the zstd frame starts. */
  bodyOffset: number;
}

export interface DecodedFrame {
  batch: Batch;
  /** The decompressed body: what a later frame refers to when this one is a keyframe. */
  body: Buffer;
}

export interface BatchCodec {
  /**
   * Frame header + zstd(batch body), standing alone. Throws ProtocolError for a batch the receiver
   * would refuse: ET_ERR_INVALID_FIELD (unless validateOnEncode is off), or ET_ERR_TOO_LARGE /
   * ET_ERR_DECOMPRESSED_TOO_LARGE when it exceeds the limits (the sender must split it).
   */
  encode(batch: Batch): Buffer;
  /**
   * Turns a standalone frame (from encode()) into one compressed against `references` (other batches of the same epoch the
   * receiver kept, usually earlier ones), optionally marked as a keyframe. Returns the new frame and the
   * body, which the caller keeps if the frame is a keyframe and is acknowledged. With no
   * references and no keyframe it returns the frame unchanged.
   */
  reencode(
    frame: Uint8Array,
    opts: { epoch: number; seq: number; references: readonly BatchReference[]; keyframe: boolean },
  ): Result<{ frame: Buffer; body: Buffer }>;
  /** Reads the frame head without decompressing; never throws. */
  head(bytes: Uint8Array): Result<BatchFrameHead>;
  /**
   * `topicNode`: the node id from the topic the bytes arrived on; a different id in the batch is
   * rejected. `references`: the bodies the head lists, in its order (ET_ERR_UNKNOWN_REFERENCE when
   * one is missing or its CRC differs). Never throws.
   */
  decode(bytes: Uint8Array, topicNode?: string, references?: readonly Uint8Array[]): Result<Batch>;
  /**
   * As decode, with the body. A refusal's cost: 0 for one refused from its head or its references,
   * the body's size for one refused once read. A receiver charges that to the sender; charging
   * every refusal the decoding limit throttled a node's valid batches for one bad frame.
   */
  decodeFrame(bytes: Uint8Array, topicNode?: string, references?: readonly Uint8Array[]): Costed<DecodedFrame>;
}

/**
 * The batch codec. Holds one zstd compression and decompression context for its lifetime (they
 * cost far more to create than a small batch costs to compress); one codec per thread of use.
 */
export function createBatchCodec(opts: Partial<CodecOptions> = {}): BatchCodec {
  const o = resolveCodecOptions(opts);
  const zstd = createZstd({ level: o.level, prefixLevel: o.referenceLevel, dictionary: o.dictionary });
  const flags = zstd.hasDictionary ? FrameFlags.dictionary : 0;
  // Reference bodies are the same buffers batch after batch (the sender's keyframes, the
  // receiver's cache): each is checksummed once, not once per frame that refers to it.
  const crcs = new WeakMap<Uint8Array, number>();
  const crcOf = (body: Uint8Array): number => {
    let c = crcs.get(body);
    if (c === undefined) {
      c = crc32(body);
      crcs.set(body, c);
    }
    return c;
  };

  function head(bytes: Uint8Array): Result<BatchFrameHead> {
    if (bytes.length > limits.maxBatchWireBytes)
      return fail('ET_ERR_TOO_LARGE', `batch: ${bytes.length} bytes, limit ${limits.maxBatchWireBytes}`);
    const header = readFrameHeader(bytes, MessageKind.batch, BATCH_FRAME_VERSION);
    if (!header.ok) return header;
    const { version, flags: f } = header.value;
    const keyframe = (f & FrameFlags.keyframe) !== 0;
    const dictionary = (f & FrameFlags.dictionary) !== 0;
    if ((f & FrameFlags.references) === 0)
      return {
        ok: true,
        value: { version, keyframe, dictionary, references: [], bodyOffset: FRAME_HEADER_BYTES },
      };
    if (dictionary) return fail('ET_ERR_INVALID_FIELD', 'frame.flags: references and a configured dictionary together');
    const r = new ByteReader(bytes, FRAME_HEADER_BYTES);
    try {
      r.field = 'frame.epoch';
      const epoch = r.uint();
      r.field = 'frame.seq';
      const seq = r.uint();
      r.field = 'frame.references';
      const n = r.count(limits.maxBatchReferences, 1);
      if (n === 0) r.fail('ET_ERR_INVALID_FIELD', 'flag set but no reference listed');
      const references: number[] = [];
      for (let i = 0; i < n; i++) {
        r.index = i;
        // Each reference as its distance from this batch's seq. Usually an earlier batch, but a
        // backlog batch drained after an outage refers to the newer keyframes acked meanwhile.
        const distance = r.sint();
        if (distance === 0 || seq - distance < 0 || !Number.isSafeInteger(seq - distance))
          r.fail('ET_ERR_INVALID_FIELD', `reference at distance ${distance} from seq ${seq}`);
        references.push(seq - distance);
      }
      r.field = 'frame.referenceCrc';
      const referenceCrc = Buffer.from(r.bytes(4)).readUInt32LE(0);
      return {
        ok: true,
        value: { version, keyframe, dictionary, batch: { epoch, seq }, references, referenceCrc, bodyOffset: r.pos },
      };
    } catch (err) {
      return { ok: false, error: err as ProtocolError };
    }
  }

  function decodeFrame(bytes: Uint8Array, topicNode?: string, refs: readonly Uint8Array[] = []): Costed<DecodedFrame> {
    const h = head(bytes);
    if (!h.ok) return { ...h, decodedBytes: 0 };
    const { references, referenceCrc, bodyOffset, dictionary } = h.value;
    if (refs.length !== references.length)
      return costedRefusal(
        0,
        'ET_ERR_UNKNOWN_REFERENCE',
        `frame refers to ${references.length} other batches, ${refs.length} given`,
      );
    if (refs.length > 0 && combinedCrc(refs.map(crcOf)) !== referenceCrc)
      return costedRefusal(
        0,
        'ET_ERR_UNKNOWN_REFERENCE',
        `references ${references.join(', ')}: bodies' CRC differs from the frame's`,
      );
    const against = refs.length > 0 ? Buffer.concat(refs) : dictionary;
    const body = zstd.decompress(bytes.subarray(bodyOffset), limits.maxBatchDecodedBytes, against);
    if (!body.ok) return body;
    const read = body.value.length;
    let batch: Batch;
    try {
      batch = readBatchBody(body.value);
    } catch (err) {
      if (err instanceof ProtocolError) return { ok: false, error: err, decodedBytes: read };
      return costedRefusal(read, 'ET_ERR_INVALID_FIELD', `batch: ${err instanceof Error ? err.message : String(err)}`);
    }
    const valid = validateBatch(batch);
    if (!valid.ok) return { ...valid, decodedBytes: read };
    if (topicNode !== undefined && batch.node !== topicNode)
      return costedRefusal(
        read,
        'ET_ERR_NODE_MISMATCH',
        `node: ${JSON.stringify(batch.node)} in the batch, ${JSON.stringify(topicNode)} in the topic`,
      );
    const id = h.value.batch;
    if (id && (id.epoch !== batch.epoch || id.seq !== batch.seq))
      return costedRefusal(
        read,
        'ET_ERR_INVALID_FIELD',
        `frame says ${id.epoch}/${id.seq}, body says ${batch.epoch}/${batch.seq}`,
      );
    return { ok: true, value: { batch, body: body.value } };
  }

  return {
    encode(batch) {
      if (o.validateOnEncode) {
        const v = validateBatch(batch);
        if (!v.ok) throw v.error;
      }
      const body = writeBatchBody(batch);
      if (body.length > limits.maxBatchDecodedBytes)
        throw new ProtocolError(
          'ET_ERR_DECOMPRESSED_TOO_LARGE',
          `batch body: ${body.length} bytes, limit ${limits.maxBatchDecodedBytes}`,
        );
      const out = Buffer.concat([writeFrameHeader(MessageKind.batch, flags, BATCH_FRAME_VERSION), zstd.compress(body)]);
      if (out.length > limits.maxBatchWireBytes)
        throw new ProtocolError('ET_ERR_TOO_LARGE', `batch: ${out.length} bytes, limit ${limits.maxBatchWireBytes}`);
      return out;
    },
    reencode(frame, { epoch, seq, references, keyframe }) {
      const h = head(frame);
      if (!h.ok) return h;
      if (h.value.references.length > 0) return fail('ET_ERR_INVALID_FIELD', 'reencode takes a standalone frame');
      const body = zstd.decompress(frame.subarray(h.value.bodyOffset), limits.maxBatchDecodedBytes, h.value.dictionary);
      if (!body.ok) return body;
      const refs = references.slice(-limits.maxBatchReferences);
      if (refs.length === 0) {
        const standalone = Buffer.from(frame);
        if (keyframe) standalone[4] = (standalone[4] as number) | FrameFlags.keyframe;
        return { ok: true, value: { frame: standalone, body: body.value } };
      }
      if (refs.some((r) => r.seq === seq)) return fail('ET_ERR_INVALID_FIELD', `seq ${seq} cannot refer to itself`);
      const w = new ByteWriter(20 + refs.length * 5);
      w.uint(epoch);
      w.uint(seq);
      w.uint(refs.length);
      for (const r of refs) w.sint(seq - r.seq);
      const crc = Buffer.allocUnsafe(4);
      crc.writeUInt32LE(combinedCrc(refs.map((r) => crcOf(r.body))));
      w.bytes(crc);
      const refFlags = FrameFlags.references | (keyframe ? FrameFlags.keyframe : 0);
      const compressed = zstd.compressAgainst(body.value, Buffer.concat(refs.map((r) => r.body)));
      return {
        ok: true,
        value: {
          frame: Buffer.concat([
            writeFrameHeader(MessageKind.batch, refFlags, BATCH_FRAME_VERSION),
            w.view(),
            compressed,
          ]),
          body: body.value,
        },
      };
    },
    head,
    decodeFrame,
    decode(bytes, topicNode, references) {
      const d = decodeFrame(bytes, topicNode, references);
      return d.ok ? { ok: true, value: d.value.batch } : d;
    },
  };
}

/** The CRC-32 of a list of CRC-32s, each as u32le: the frame's one check over all its references. */
function combinedCrc(crcs: readonly number[]): number {
  const b = Buffer.allocUnsafe(4 * crcs.length);
  crcs.forEach((c, i) => b.writeUInt32LE(c, 4 * i));
  return crc32(b);
}

function fail(code: ProtocolError['code'], detail: string): Result<never> {
  return { ok: false, error: new ProtocolError(code, detail) };
}
