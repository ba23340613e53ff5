import { Compressor } from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import { costedRefusal, type Costed } from '../errors/errors.js';

export interface ZstdOptions {
  level: number;
  /** Level of compressAgainst (default: level). */
  prefixLevel?: number | undefined;
  /** A zstd dictionary (e.g. trained with `zstd --train` on earlier batches); both ends must load the same one. */
  dictionary?: Uint8Array | undefined;
}

/** One compression and one decompression context, reused across calls (they are costly to create). */
export interface ZstdContext {
  compress(src: Uint8Array): Buffer;
  /**
   * Compresses `src` with `prefix` as raw-content dictionary (earlier data both ends hold): what
   * repeats from it costs a few bytes per match. Not combined with a configured dictionary.
   */
  compressAgainst(src: Uint8Array, prefix: Uint8Array): Buffer;
  readonly hasDictionary: boolean;
  /**
   * Decompresses one zstd frame into at most `maxBytes`, whatever its header claims, with the
   * configured dictionary (`true`), none (`false`) or the given raw-content prefix.
   */
  decompress(src: Uint8Array, maxBytes: number, withDictionary: boolean | Uint8Array): Costed<Buffer>;
}

const ZSTD_MAGIC = 0xfd2fb528;
const STREAM_CHUNK = 128 * 1024;

/**
 * zstd-napi's high-level Decompressor has no output limit (it allocates what the frame header
 * says, or grows without bound when the header has no size), so decompression uses the binding's
 * DCtx directly: a declared content size is checked against the cap before allocating, and a
 * frame without one is streamed with a running total that stops one byte past the cap. zstd
 * itself rejects a frame whose output does not match its declared size, so a lying header can
 * never make it write more than was allocated.
 */
export function createZstd(opts: ZstdOptions): ZstdContext {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: opts.level });
  const prefixed = new binding.CCtx();
  // A frame is decoded with exactly the setup it was encoded with (the frame flags say which),
  // hence a second context when a dictionary is configured.
  const plain = newDCtx();
  const withDict = opts.dictionary ? newDCtx() : undefined;
  if (opts.dictionary && withDict) {
    compressor.loadDictionary(opts.dictionary);
    withDict.loadDictionary(opts.dictionary);
  }

  const corrupt = (why: string, decodedBytes = 0): Costed<Buffer> =>
    costedRefusal(decodedBytes, 'ET_ERR_CORRUPT_COMPRESSION', why);
  const tooLarge = (why: string, decodedBytes = 0): Costed<Buffer> =>
    costedRefusal(decodedBytes, 'ET_ERR_DECOMPRESSED_TOO_LARGE', why);

  function streamed(dctx: binding.DCtx, src: Uint8Array, maxBytes: number): Costed<Buffer> {
    dctx.reset(binding.ResetDirective.sessionOnly);
    const chunks: Buffer[] = [];
    let total = 0;
    let consumedAll = 0;
    try {
      for (;;) {
        const room = Math.min(STREAM_CHUNK, maxBytes + 1 - total);
        const out = Buffer.allocUnsafe(room);
        const [ret, produced, consumed] = dctx.decompressStream(out, src.subarray(consumedAll));
        consumedAll += consumed;
        total += produced;
        if (total > maxBytes) return tooLarge(`frame without content size produced more than ${maxBytes} bytes`, total);
        if (produced > 0) chunks.push(out.subarray(0, produced));
        if (ret === 0) break;
        if (consumedAll >= src.length && produced < room) return corrupt('zstd frame is truncated', total);
      }
    } catch (err) {
      return corrupt(err instanceof Error ? err.message : String(err), total);
    }
    if (consumedAll !== src.length) return corrupt('trailing data after the zstd frame', total);
    return { ok: true, value: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total) };
  }

  return {
    hasDictionary: withDict !== undefined,
    compress: (src) => compressor.compress(src),
    compressAgainst(src, prefix) {
      const out = Buffer.allocUnsafe(binding.compressBound(src.length));
      // compressUsingDict writes the content size, which decompress() needs to bound its output.
      return out.subarray(0, prefixed.compressUsingDict(out, src, prefix, opts.prefixLevel ?? opts.level));
    },
    decompress(src, maxBytes, withDictionary) {
      const prefix = typeof withDictionary === 'boolean' ? undefined : withDictionary;
      const dctx = withDictionary === true ? withDict : plain;
      if (!dctx) return corrupt('frame needs a dictionary and none is configured');
      if (src.length < 4 || Buffer.from(src.buffer, src.byteOffset, 4).readUInt32LE(0) !== ZSTD_MAGIC)
        return corrupt('not a zstd frame');
      // What a failure inside zstd may have decompressed: it does not say how far it got, and it
      // writes at most the declared size.
      let allocated = 0;
      try {
        if (binding.findFrameCompressedSize(src) !== src.length) return corrupt('data after the zstd frame');
        const declared = binding.getFrameContentSize(src);
        if (declared === null)
          return prefix ? corrupt('frame against references declares no content size') : streamed(dctx, src, maxBytes);
        if (declared > maxBytes) return tooLarge(`frame declares ${declared} bytes, limit ${maxBytes}`);
        const out = Buffer.allocUnsafe(declared);
        allocated = declared;
        const n = prefix ? dctx.decompressUsingDict(out, src, prefix) : dctx.decompress(out, src);
        if (n !== declared) return corrupt(`frame declares ${declared} bytes, decoded ${n}`, n);
        return { ok: true, value: out };
      } catch (err) {
        return corrupt(err instanceof Error ? err.message : String(err), allocated);
      }
    },
  };
}

function newDCtx(): binding.DCtx {
  const dctx = new binding.DCtx();
  // Bounds the window a streaming frame may ask for (16 MiB), so the window buffer stays small too.
  dctx.setParameter(binding.DParameter.windowLogMax, 24);
  return dctx;
}
