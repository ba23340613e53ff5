import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileTailer } from './file-tailer.js';

/** Every look at a file's metadata the tailer makes: stat of a path, or of an open descriptor. */
const looks = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    stat: (...a: Parameters<typeof fs.stat>) => {
      looks.count++;
      return fs.stat(...a);
    },
    open: async (...a: Parameters<typeof fs.open>) => {
      const h = await fs.open(...a);
      const own = h.stat.bind(h);
      h.stat = ((...b: Parameters<typeof h.stat>) => {
        looks.count++;
        return own(...b);
      }) as typeof h.stat;
      return h;
    },
  };
});

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

  it('looks at the file once per read that reaches its end, and finds a truncation with that look', async () => {
    // Thousands of files are read to their end every poll: a look of its own before each read
    // (for a truncation) doubled the stat calls of every file at its end.
    const { file, t, lines, onLine } = await opened('a\n', 4096);
    const looksOf = async (expected: string) => {
      const before = looks.count;
      expect(await t.read(onLine)).toBe(expected);
      return looks.count - before;
    };
    expect(await looksOf('end')).toBe(1);
    expect(await looksOf('eof')).toBe(1);
    await appendFile(file, 'b\n');
    expect(await looksOf('end')).toBe(1);
    expect(lines).toEqual(['a', 'b']);
    // Truncated and written again, shorter: the read at the old offset finds nothing, its look
    // finds the file smaller, and the same read goes on from the start.
    await truncate(file, 0);
    await appendFile(file, 'c\n');
    expect(await looksOf('end')).toBe(2);
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(t.events.truncations).toBe(1);
    await t.close();
  });
});
