/**
 * Cuts a pull's lines into numbered chunks. The cut depends only on the lines and `chunkBytes`,
 * so the same query over the same fixed range gives the same chunks every time: that is what lets
 * a node that restarted, or is asked to resend, rebuild chunk N without keeping it.
 */
import { createHash } from 'node:crypto';

export interface PulledChunk {
  seq: number;
  lines: string[];
  /** UTF-8 bytes of the lines (without separators). */
  rawBytes: number;
}

export interface ChunkTotals {
  chunks: number;
  lines: number;
  bytes: number;
  /** sha256 (hex) over every line followed by '\n', in order. */
  digest: string;
}

/**
 * Yields chunks of at least `chunkBytes` raw bytes (the last one smaller), stopping before the
 * line that would pass `maxBytes`. `totals` is filled in when the iteration ends.
 */
export async function* chunkLines(
  lines: AsyncIterable<string>,
  chunkBytes: number,
  maxBytes: number | undefined,
  totals: ChunkTotals,
): AsyncGenerator<PulledChunk> {
  const hash = createHash('sha256');
  const limit = maxBytes ?? Infinity;
  let seq = 0;
  let bytes = 0;
  let count = 0;
  let buf: string[] = [];
  let bufBytes = 0;
  const cut = (): PulledChunk => {
    const c = { seq: seq++, lines: buf, rawBytes: bufBytes };
    hash.update(buf.join('\n') + '\n');
    buf = [];
    bufBytes = 0;
    return c;
  };
  for await (const line of lines) {
    const n = Buffer.byteLength(line);
    if (bytes + n > limit) break;
    bytes += n;
    count++;
    buf.push(line);
    bufBytes += n;
    if (bufBytes >= chunkBytes) yield cut();
  }
  if (buf.length > 0) yield cut();
  totals.chunks = seq;
  totals.lines = count;
  totals.bytes = bytes;
  totals.digest = hash.digest('hex');
}

export function emptyTotals(): ChunkTotals {
  return { chunks: 0, lines: 0, bytes: 0, digest: '' };
}
