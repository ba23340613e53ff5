import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { CollectorError } from '../../errors.js';
import type { FileRef, ReadPosition } from '../types.js';

/**
 * A container's log is a regular file its runtime writes. Whoever can write under the log folders
 * (a pod with a hostPath mount of /var/log) could put a symlink there, to another pod's log or a
 * host file, or a FIFO, whose plain open() waits for a writer for ever. O_NOFOLLOW refuses the
 * symlink (ELOOP), O_NONBLOCK lets the FIFO open at once so that fstat can refuse it; neither
 * changes how a regular file is read.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Where reading of one file stands: its inode, and the byte offset after the last line handed on. */
export type TailPosition = Omit<ReadPosition, 'path'>;

export interface FileTailerOptions {
  /** Bytes read per read call: the most a file is read ahead of the pipeline at a time. */
  chunkBytes: number;
  /**
   * The buffer reads go into, when the caller reads its tailers one at a time and shares one
   * (every line is decoded out of it before the next read): 64 KiB per followed file otherwise.
   */
  readBuffer?: Buffer;
  /** A line longer than this is handed on in pieces (a writer that never ends a line cannot grow memory). */
  maxLineBytes: number;
}

/** Called for each complete line with its bytes' start and end offsets in the file `ref`. */
export type OnLine = (line: string, ref: FileRef, start: number, end: number) => void;

export interface TailEvents {
  rotations: number;
  truncations: number;
}

/**
 * What one read did: read data and there may be more (`data`), read data up to the file's end
 * (`end`), found nothing new at the end (`eof`), or the path is gone for good.
 */
export type ReadResult = 'data' | 'end' | 'eof' | 'gone';

/**
 * The result of a read that follows, in the same call, one that brought data (`broughtData`): the
 * pair read data up to an end, so a later `eof` counts as `end` (a caller that stops when a read
 * brings none must still see that this call brought some). Shared by the tailer (rotation) and
 * the source (the next tailer of a path) so the rule is written once.
 */
export function afterData(next: ReadResult, broughtData: boolean): ReadResult {
  return next === 'eof' && broughtData ? 'end' : next;
}

/**
 * Follows one log file by path, one chunk at a time, so that a file with a large backlog is read
 * no further ahead than its reader asks. Keeps the file open, so that after a rotation (the path
 * now names a new inode) it first reads the old file to its end, then starts the new one at 0. A
 * file that shrank below the read offset was truncated in place and is read again from 0.
 */
export class FileTailer {
  private handle: FileHandle | undefined;
  private current: FileRef = {
    path: '',
    inode: -1,
    order: -1,
    storedUpTo: 0,
    storedExtra: undefined,
    recordedEnd: 0,
    pushedAs: undefined,
  };
  /** Offset after the last complete line handed on. */
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);
  /** File size when last looked at (for backlogBytes). */
  private size = 0;
  /** Modification time (ms) when the file was last looked at. */
  private mtimeMs = 0;
  /** Closed by park(): read() opens it again only when its path shows more to read. */
  private parked = false;
  private readonly buf: Buffer;
  readonly events: TailEvents = { rotations: 0, truncations: 0 };

  /**
   * @param key The path lines are attributed to (their FileRef's path): the file itself, or for a
   * rotated file finished after a restart (`<path>.1`), the path it was rotated from; such a file is
   * read by its descriptor to its end, never looked up by name (rotatedAway).
   * @param nextOrder Numbers each file opened in read order (FileRef.order).
   */
  constructor(
    readonly path: string,
    private readonly options: FileTailerOptions,
    private readonly key: string = path,
    private readonly nextOrder: () => number = () => 0,
  ) {
    this.buf = options.readBuffer ?? Buffer.allocUnsafe(options.chunkBytes);
  }

  /**
   * Opens the file. With a position for the same inode, reading resumes there; with `end`, new
   * lines only; otherwise from the start. Returns false when the file does not exist; throws
   * ET_ERR_LOG_NOT_A_FILE when the path is not a regular file (OPEN_FLAGS).
   */
  async open(from: TailPosition | 'start' | 'end'): Promise<boolean> {
    const opened = await this.openRegular();
    if (opened === undefined) return false;
    const { h, st } = opened;
    this.size = st.size;
    this.mtimeMs = st.mtimeMs;
    this.handle = h;
    this.parked = false;
    this.current = {
      path: this.key,
      inode: st.ino,
      order: this.nextOrder(),
      storedUpTo: 0,
      storedExtra: undefined,
      recordedEnd: 0,
      pushedAs: undefined,
    };
    this.carry = Buffer.alloc(0);
    if (from === 'end') this.offset = st.size;
    else if (from === 'start' || from.inode !== st.ino) this.offset = 0;
    else this.offset = from.offset <= st.size ? from.offset : 0;
    return true;
  }

  /** `file` (the path by default) opened as a regular file (OPEN_FLAGS), with its stat; undefined when it does not exist. */
  private async openRegular(file = this.path): Promise<{ h: FileHandle; st: Stats } | undefined> {
    let h: FileHandle;
    try {
      h = await open(file, OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw new CollectorError('ET_ERR_LOG_NOT_A_FILE', `${file}: a symlink`);
      throw err;
    }
    const st = await h.stat();
    if (!st.isFile()) {
      await h.close();
      throw new CollectorError('ET_ERR_LOG_NOT_A_FILE', file);
    }
    return { h, st };
  }

  /** How long (ms) before `now` the file was last modified, as of the last look at it. */
  idleMs(now: number): number {
    return now - this.mtimeMs;
  }

  /**
   * Gives up the file's descriptor and nothing else (position, partial line, FileRef): a host keeps
   * the logs of every exited container, and holding them all open took 3,025 descriptors for 3,000
   * files, over containerd's default soft limit of 1,024, past which the collector died (EMFILE).
   */
  async park(): Promise<void> {
    if (this.handle === undefined) return;
    await this.close();
    this.parked = true;
  }

  /**
   * A parked file is looked at by path (a stat, no descriptor) and opened again only when it grew,
   * shrank or was replaced. Returns what read() returns when it need not read; undefined when
   * it has a handle to read from.
   */
  private async unpark(onLine: OnLine): Promise<ReadResult | undefined> {
    const now = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (now !== undefined && now.ino === this.current.inode && now.size === this.offset + this.carry.length)
      return 'eof';
    // The path names it still (it grew or shrank), or it was rotated: json-file renames it `<path>.1`
    // as it writes the line that fills it (logrotate too; follow() looks there after a restart), so
    // an idle file's last lines and its rotation come between two looks. Read on in it there: its
    // end and the rotation are then found as with a descriptor held (before, those lines were lost).
    // The path is opened only while it names the file still: once it names a new one, that is
    // opened once, below, when the old one is not found under `.1` (it was opened here, then again).
    let opened = now?.ino === this.current.inode ? await this.openRegular() : undefined;
    if (opened !== undefined && opened.st.ino !== this.current.inode) {
      // Replaced between the look and the open.
      await opened.h.close();
      opened = undefined;
    }
    opened ??= await this.openRegular(`${this.path}.1`).catch(() => undefined);
    if (opened?.st.ino === this.current.inode) {
      this.handle = opened.h;
      this.parked = false;
      this.sizeIs(opened.st.size);
      return undefined;
    }
    // Removed, or renamed out of reach, while parked: what was written to it after it was parked
    // (read to its end then) cannot be read, its descriptor having been given up.
    await opened?.h.close();
    this.parked = false;
    this.flushCarry(onLine);
    if (now === undefined) return 'gone';
    this.events.rotations++;
    return (await this.open('start')) ? undefined : 'gone';
  }

  position(): TailPosition {
    return { inode: this.current.inode, offset: this.offset };
  }

  /** Bytes of the file not read yet, as of the last look at its size. */
  get backlogBytes(): number {
    return Math.max(0, this.size - this.offset - this.carry.length);
  }

  /** The file being read now (a new object after a rotation). */
  get ref(): FileRef {
    return this.current;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** No line is half read (what was read ends with a newline): its position says all there is to know. */
  get complete(): boolean {
    return this.carry.length === 0;
  }

  /**
   * Reads at most one chunk and hands on its complete lines. At the end of the file (a read
   * shorter than the chunk, or an empty one) it looks whether the path still names the same file:
   * after a rotation the old file is finished (its last line even without a newline, since the
   * writer has moved on) and the new one opened.
   */
  async read(onLine: OnLine): Promise<ReadResult> {
    if (this.handle === undefined) {
      if (this.rotatedAway) return 'gone';
      const r = this.parked ? await this.unpark(onLine) : (await this.open('start')) ? undefined : 'gone';
      if (r !== undefined) return r;
    }
    const h = this.handle as FileHandle;
    const at = this.offset + this.carry.length;
    const { bytesRead } = await h.read(this.buf, 0, this.buf.length, at);
    if (bytesRead > 0) this.split(this.buf.subarray(0, bytesRead), onLine);
    if (bytesRead === this.buf.length) return 'data';
    if (this.rotatedAway) return this.finish(onLine, bytesRead > 0);
    // A short read reached the end now: told at once, not by an empty read in the caller's next
    // round, which over thousands of files read at their first start came only after all of them
    // were read, every container's last window held open until then (issue 15).
    const now = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (now !== undefined && now.ino === this.current.inode) {
      this.mtimeMs = now.mtimeMs;
      // Truncated in place (found here, by the look at the end, rather than by a look of its own
      // before each read): read again from its start in the same call.
      if (this.sizeIs(now.size)) return afterData(await this.read(onLine), bytesRead > 0);
      return bytesRead > 0 ? 'end' : 'eof';
    }
    // Rotated (renamed, or removed): the writer has moved on, so the old file is complete.
    this.flushCarry(onLine);
    await this.close();
    if (now === undefined) return 'gone';
    this.events.rotations++;
    // Read the new file in the same call: 'data' means lines may have come, and a caller that
    // stops when a read brings none must not stop between the old file's end and the new one.
    const next = (await this.open('start')) ? await this.read(onLine) : 'gone';
    return afterData(next, bytesRead > 0);
  }

  /**
   * A rotated file finished after a restart (`<path>.2`, `<path>.1`; its key is the path it was
   * rotated from) is followed by its descriptor only, never by its name: the runtime may rotate
   * again while it is read, and the name then names the next file, which its own tailer holds.
   * Looking at the name at the end took that file for a rotation of this one and read it whole,
   * then its tailer read it again: a whole file counted and shipped twice.
   */
  private get rotatedAway(): boolean {
    return this.key !== this.path;
  }

  /** The end of a rotated file: complete (its writer has moved on), its last line even without a newline. */
  private async finish(onLine: OnLine, broughtData: boolean): Promise<ReadResult> {
    this.flushCarry(onLine);
    await this.close();
    return broughtData ? 'end' : 'eof';
  }

  /**
   * Takes the file's size as looked at now; a file smaller than what was read of it was truncated
   * in place, and is read again from 0 (true).
   */
  private sizeIs(size: number): boolean {
    this.size = size;
    if (size >= this.offset + this.carry.length) return false;
    this.events.truncations++;
    this.offset = 0;
    this.carry = Buffer.alloc(0);
    return true;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  private split(chunk: Buffer, onLine: OnLine): void {
    let data = chunk;
    if (this.carry.length > 0) data = Buffer.concat([this.carry, chunk]);
    const ref = this.current;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl < 0) break;
      const from = this.offset;
      this.offset += nl + 1 - start;
      onLine(data.toString('utf8', start, nl), ref, from, this.offset);
      start = nl + 1;
    }
    let rest = data.subarray(start);
    while (rest.length > this.options.maxLineBytes) {
      const piece = rest.subarray(0, this.options.maxLineBytes);
      const from = this.offset;
      this.offset += piece.length;
      onLine(piece.toString('utf8'), ref, from, this.offset);
      rest = rest.subarray(this.options.maxLineBytes);
    }
    // Copy: `chunk` is the shared read buffer and is overwritten by the next read.
    this.carry = rest.length === 0 ? Buffer.alloc(0) : Buffer.from(rest);
  }

  private flushCarry(onLine: OnLine): void {
    if (this.carry.length === 0) return;
    const from = this.offset;
    this.offset += this.carry.length;
    onLine(this.carry.toString('utf8'), this.current, from, this.offset);
    this.carry = Buffer.alloc(0);
  }
}
