// PROVISIONAL (being replaced by the binary columnar codec): JSON + zstd with the final API.
import { Compressor, Decompressor } from 'zstd-napi';
import type { Batch } from '../types/batch.js';
import { ProtocolError, type Result } from '../errors/errors.js';
import { limits } from '../limits.js';

export interface BatchCodec {
  encode(batch: Batch): Buffer;
  /** `topicNode`: the node id from the topic the bytes arrived on; a different id in the batch is rejected. */
  decode(bytes: Uint8Array, topicNode?: string): Result<Batch>;
}

export function createBatchCodec(opts: { level?: number } = {}): BatchCodec {
  const c = new Compressor();
  c.setParameters({ compressionLevel: opts.level ?? 3 });
  const d = new Decompressor();
  return {
    encode: (batch) => Buffer.concat([Buffer.from([0x45, 0x54, 1]), c.compress(Buffer.from(JSON.stringify(batch)))]),
    decode: (bytes, topicNode) => {
      if (bytes.length > limits.maxBatchWireBytes) return { ok: false, error: new ProtocolError('ET_ERR_TOO_LARGE', `${bytes.length} bytes`) };
      try {
        const batch = JSON.parse(d.decompress(Buffer.from(bytes.subarray(3))).toString()) as Batch;
        if (topicNode !== undefined && batch.node !== topicNode) return { ok: false, error: new ProtocolError('ET_ERR_NODE_MISMATCH', `${batch.node} != ${topicNode}`) };
        return { ok: true, value: batch };
      } catch (err) {
        return { ok: false, error: new ProtocolError('ET_ERR_CORRUPT_COMPRESSION', (err as Error).message) };
      }
    },
  };
}
