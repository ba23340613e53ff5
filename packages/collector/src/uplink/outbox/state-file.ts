/**
 * The outbox's epoch, persisted beside the segments. A missing or unreadable file means the
 * outbox was lost: a fresh random epoch makes (node, epoch, seq) new keys, so the ingester
 * cannot mistake new batches for duplicates of ones it stored before the loss.
 */
import { randomInt } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

const FILE = 'epoch';

export async function readEpoch(dir: string): Promise<number | undefined> {
  const buf = await readFile(path.join(dir, FILE)).catch(() => undefined);
  if (!buf || buf.length !== 8) return undefined;
  const epoch = buf.readUInt32LE(0);
  return crc32(buf.subarray(0, 4)) === buf.readUInt32LE(4) ? epoch : undefined;
}

export async function writeEpoch(dir: string, epoch: number): Promise<void> {
  const buf = Buffer.alloc(8);
  buf.writeUInt32LE(epoch >>> 0, 0);
  buf.writeUInt32LE(crc32(buf.subarray(0, 4)), 4);
  await writeFileDurably(path.join(dir, FILE), buf);
}

const CURSOR_FILE = 'cursor';

/**
 * The newest cursor, kept here before the record carrying it is deleted: `u32 length | f64
 * generation | bytes | u32 CRC32 of all before it`, written tmp + fsync + rename.
 */
export async function writeCursorFile(dir: string, generation: number, bytes: Uint8Array): Promise<void> {
  const buf = Buffer.allocUnsafe(16 + bytes.length);
  buf.writeUInt32LE(bytes.length, 0);
  buf.writeDoubleLE(generation, 4);
  buf.set(bytes, 12);
  buf.writeUInt32LE(crc32(buf.subarray(0, 12 + bytes.length)), 12 + bytes.length);
  await writeFileDurably(path.join(dir, CURSOR_FILE), buf);
}

/** The cursor file's content, or undefined when it is missing or damaged (a torn write never replaces it). */
export async function readCursorFile(dir: string): Promise<{ generation: number; bytes: Buffer } | undefined> {
  const buf = await readFile(path.join(dir, CURSOR_FILE)).catch(() => undefined);
  if (!buf || buf.length < 16) return undefined;
  const len = buf.readUInt32LE(0);
  if (buf.length !== 16 + len || crc32(buf.subarray(0, 12 + len)) !== buf.readUInt32LE(12 + len)) return undefined;
  return { generation: buf.readDoubleLE(4), bytes: Buffer.from(buf.subarray(12, 12 + len)) };
}

/** A new epoch, different from `previous` when that is known. */
export function freshEpoch(previous?: number): number {
  let e = randomInt(1, 0xffffffff);
  if (e === previous) e = (e % 0xfffffffe) + 1;
  return e;
}

/** tmp + fsync + rename + directory fsync: the file is either the old or the new one after a crash or a failed write. */
export async function writeFileDurably(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } catch (err) {
    // A full disk: the partial tmp file would only take space the data volume lacks.
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  await syncDir(path.dirname(file));
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
