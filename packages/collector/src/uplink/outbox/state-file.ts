/**
 * The outbox's epoch, persisted beside the segments. A missing or unreadable file means the
 * outbox was lost: a fresh random epoch makes (node, epoch, seq) new keys, so the ingester
 * cannot mistake new batches for duplicates of ones it stored before the loss.
 */
import { randomInt } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
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

/** A new epoch, different from `previous` when that is known. */
export function freshEpoch(previous?: number): number {
  let e = randomInt(1, 0xffffffff);
  if (e === previous) e = (e % 0xfffffffe) + 1;
  return e;
}

/** tmp + fsync + rename + directory fsync: the file is either the old or the new one after a crash. */
export async function writeFileDurably(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
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
