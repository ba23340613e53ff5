/**
 * A command's write to its output, waiting for it to be flushed when the stream's buffer is full.
 * A reader gone (`| head`) rejects with `code: 'ET_ERR_OUTPUT_CLOSED'`: the bin's closed-pipe
 * listener takes the EPIPE 'error' and the stream is destroyed, after which a write returns false
 * and no 'drain' or 'error' ever comes again, so a command waiting for 'drain' hung (`logs pull |
 * head -1` held the pull's lines stream open). The write's own callback has the error instead.
 */
import type { Writable } from 'node:stream';

export const OUTPUT_CLOSED = 'ET_ERR_OUTPUT_CLOSED';

export function writeOut(out: Writable, s: string | Uint8Array): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.reject(outputClosed());
  return new Promise((resolve, reject) => {
    const ok = out.write(s, (err) => {
      if (!err) resolve();
      else reject(isClosed(err) ? outputClosed() : err);
    });
    if (ok) resolve();
  });
}

const isClosed = (err: NodeJS.ErrnoException) => err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED';

function outputClosed(): NodeJS.ErrnoException {
  return Object.assign(new Error(`${OUTPUT_CLOSED}: the output's reader went away`), { code: OUTPUT_CLOSED });
}
