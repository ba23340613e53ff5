import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { CollectorError } from '../../errors.js';

/** Where reading of one file stands: its inode, and the byte offset after the last line handed on. */
export interface TailPosition {
  inode: number;
  offset: number;
}

export type Checkpoint = Record<string, TailPosition>;

export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    const out: Checkpoint = {};
    for (const [k, p] of Object.entries(v as Record<string, unknown>)) {
      const pos = p as Partial<TailPosition>;
      if (typeof pos.inode === 'number' && typeof pos.offset === 'number')
        out[k] = { inode: pos.inode, offset: pos.offset };
    }
    return out;
  } catch (err) {
    throw new CollectorError('ET_ERR_CHECKPOINT_CORRUPT', `${file}: ${(err as Error).message}`);
  }
}

/**
 * Writes the checkpoint so that a crash leaves either the old or the new one, never a torn file:
 * write a temporary file, fsync it, rename over the old one, fsync the directory.
 */
export async function saveCheckpoint(file: string, data: Checkpoint): Promise<void> {
  const tmp = `${file}.tmp`;
  const h = await open(tmp, 'w');
  try {
    await h.writeFile(JSON.stringify(data));
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
