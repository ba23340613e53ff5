import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTailer } from './file-tailer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-tailer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A tailer opened at the start of `app.log` holding `content`, and the lines it hands on. */
async function opened(content: string, chunkBytes: number) {
  const file = path.join(dir, 'app.log');
  await writeFile(file, content);
  const t = new FileTailer(file, { chunkBytes, maxLineBytes: 1024 });
  const lines: string[] = [];
  const onLine = (l: string) => void lines.push(l);
  expect(await t.open('start')).toBe(true);
  return { file, t, lines, onLine };
}

describe('FileTailer', () => {
  it('reads the new file in the same read that finds the rotation', async () => {
    // A caller that stops once a read brings no lines (the source's catch-up) must not stop
    // between the old file's end and the new file's first lines.
    const { file, t, lines, onLine } = await opened('a\n', 4096);
    expect(await t.read(onLine)).toBe('end');
    expect(await t.read(onLine)).toBe('eof');
    await rename(file, `${file}.1`);
    await writeFile(file, 'c\n');
    expect(await t.read(onLine)).toBe('end');
    expect(lines).toEqual(['a', 'c']);
    expect(t.events.rotations).toBe(1);
    await appendFile(file, 'd\n');
    expect(await t.read(onLine)).toBe('end');
    expect(lines).toEqual(['a', 'c', 'd']);
    await t.close();
  });

  it('says in the read that reaches the end that it did, and not before', async () => {
    // A source learns there that the file is read up to now (its watermark), without another read.
    const { file, t, lines, onLine } = await opened('x'.repeat(9) + '\n' + 'y'.repeat(9) + '\n' + 'z\n', 10);
    expect(await t.read(onLine)).toBe('data');
    expect(await t.read(onLine)).toBe('data');
    expect(await t.read(onLine)).toBe('end');
    expect(lines).toEqual(['x'.repeat(9), 'y'.repeat(9), 'z']);
    expect(await t.read(onLine)).toBe('eof');
    // Rotated after its last read: the read that finds the rest of the old file finds the new one too.
    await appendFile(file, 'w\n');
    await rename(file, `${file}.1`);
    await writeFile(file, '');
    expect(await t.read(onLine)).toBe('end');
    expect(lines.slice(3)).toEqual(['w']);
    expect(t.events.rotations).toBe(1);
    await t.close();
  });
});
