/**
 * A zstd compression context that persists across messages: each message is flushed (so the
 * receiver can decode it on arrival) but the window keeps earlier messages as history, as a
 * codec with per-stream state would. Used by the uplink economy benchmark to measure what such
 * a codec change would save; the receiver would need the same stream, in order, with no gaps.
 */
import binding from 'zstd-napi/binding.js';

/** Returns the compressed bytes of each message, given every message before it on the same stream. */
export function persistentZstd(level: number): (src: Uint8Array) => Uint8Array {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, level);
  const dst = Buffer.alloc(binding.cStreamOutSize());
  return (src) => {
    const out: Buffer[] = [];
    let rest = src;
    for (;;) {
      const [remaining, written, consumed] = cctx.compressStream2(dst, rest, binding.EndDirective.flush);
      out.push(Buffer.from(dst.subarray(0, written)));
      rest = rest.subarray(consumed);
      if (remaining === 0 && rest.length === 0) return Buffer.concat(out);
    }
  };
}
