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
 * A cursor too large to ride in its group's carrier record waits in `cursor.<epoch>.<seq>` (the
 * carrier's key) while the group is written, and becomes `cursor` by a rename once the group is
 * on disk. A crash in between leaves it beside a group that is whole or torn, and the next open
 * takes it exactly when the carrier is on disk: never the batches without the cursor past their
 * lines, which sealed those windows again under new seqs (duplicates), nor the other way round.
 */
const AHEAD_RE = /^cursor\.(\d+)\.(\d+)(\.tmp)?$/;
/** The name of the cursor that waits for the record (epoch, seq) to reach the disk. */
export const aheadFile = (epoch: number, seq: number): string => `${CURSOR_FILE}.${epoch}.${seq}`;

/**
 * The newest cursor, kept here before the record carrying it is deleted: `u32 length | f64
 * generation | bytes | u32 CRC32 of all before it`, written tmp + fsync + rename. With a carrier
 * (epoch, seq), the same in that carrier's waiting file instead.
 */
export async function writeCursorFile(
  dir: string,
  generation: number,
  bytes: Uint8Array,
  carrier?: { epoch: number; seq: number },
): Promise<void> {
  const buf = Buffer.allocUnsafe(16 + bytes.length);
  buf.writeUInt32LE(bytes.length, 0);
  buf.writeDoubleLE(generation, 4);
  buf.set(bytes, 12);
  buf.writeUInt32LE(crc32(buf.subarray(0, 12 + bytes.length)), 12 + bytes.length);
  const name = carrier === undefined ? CURSOR_FILE : aheadFile(carrier.epoch, carrier.seq);
  await writeFileDurably(path.join(dir, name), buf);
}

/** The cursor file's content, or undefined when it is missing or damaged (a torn write never replaces it). */
export async function readCursorFile(
  dir: string,
  name = CURSOR_FILE,
): Promise<{ generation: number; bytes: Buffer } | undefined> {
  const buf = await readFile(path.join(dir, name)).catch(() => undefined);
  if (!buf || buf.length < 16) return undefined;
  const len = buf.readUInt32LE(0);
  if (buf.length !== 16 + len || crc32(buf.subarray(0, 12 + len)) !== buf.readUInt32LE(12 + len)) return undefined;
  return { generation: buf.readDoubleLE(4), bytes: Buffer.from(buf.subarray(12, 12 + len)) };
}

/**
 * The cursors waiting for their carrier (left by a crash, or by a rename that failed), with the
 * carrier's key; a crash while writing one leaves its `.tmp`, listed without a cursor. `names` is
 * the directory's listing, which the outbox's open already made (nothing writes these files
 * between), so the directory is not listed twice.
 */
export async function readAheadCursors(
  dir: string,
  names: readonly string[],
): Promise<
  Array<{ name: string; epoch: number; seq: number; cursor: { generation: number; bytes: Buffer } | undefined }>
> {
  const out = [];
  for (const name of names) {
    const m = AHEAD_RE.exec(name);
    if (m !== null)
      out.push({
        name,
        epoch: Number(m[1]),
        seq: Number(m[2]),
        cursor: m[3] === undefined ? await readCursorFile(dir, name) : undefined,
      });
  }
  return out;
}

/** The carrier of (epoch, seq) is on disk: its waiting cursor becomes `cursor`. */
export async function promoteAheadCursor(dir: string, epoch: number, seq: number): Promise<void> {
  await rename(path.join(dir, aheadFile(epoch, seq)), path.join(dir, CURSOR_FILE));
  await syncDir(dir);
}

/**
 * Removes a waiting cursor (by file name, as listed or as `aheadFile` gives it; a `.tmp` has only a
 * name) whose carrier will never be on disk (its write failed), or that is decided.
 */
export async function removeAheadCursor(dir: string, name: string): Promise<void> {
  await unlink(path.join(dir, name));
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
