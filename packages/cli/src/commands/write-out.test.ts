import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OUTPUT_CLOSED, writeOut } from './write-out.js';

describe('writeOut', () => {
  it('rejects at once on an output already destroyed (a reader gone): no wait for a drain that never comes', async () => {
    // After the bin's closed-pipe listener took the EPIPE, stdout is destroyed: its write returns
    // false and emits nothing, so `if (!write()) await once(out, 'drain')` hung here.
    const out = new PassThrough();
    out.on('error', () => undefined);
    out.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    // Its 'error' and 'close' already gone by, as when the EPIPE came between two writes.
    await new Promise((resolve) => out.once('close', resolve));
    await expect(writeOut(out, 'line\n')).rejects.toMatchObject({ code: OUTPUT_CLOSED });
    const ended = new PassThrough();
    ended.end();
    await expect(writeOut(ended, 'line\n')).rejects.toMatchObject({ code: OUTPUT_CLOSED });
  });

  it('a write whose own flush fails with EPIPE rejects, while the error event goes to its listener', async () => {
    const out = new Writable({
      highWaterMark: 1,
      write: (_chunk, _enc, cb) => setImmediate(() => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))),
    });
    out.on('error', () => undefined);
    await expect(writeOut(out, 'more than the high-water mark\n')).rejects.toMatchObject({ code: OUTPUT_CLOSED });
  });

  it('waits for a full buffer to flush, and keeps any other error as it is', async () => {
    const flushed: string[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write: (chunk: Buffer, _enc, cb) => setImmediate(() => (flushed.push(chunk.toString()), cb())),
    });
    await writeOut(slow, 'a\n');
    expect(flushed).toEqual(['a\n']);
    const full = new Writable({
      write: (_chunk, _enc, cb) => cb(Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' })),
    });
    full.on('error', () => undefined);
    await expect(writeOut(full, 'a\n')).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});
