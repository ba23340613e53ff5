import { open, stat, type FileHandle } from 'node:fs/promises';
import type { TailPosition } from './checkpoint.js';

export interface FileTailerOptions {
  /** Bytes read per read call. */
  chunkBytes: number;
  /** A line longer than this is handed on in pieces (a writer that never ends a line cannot grow memory). */
  maxLineBytes: number;
}

/** Called for each complete line with the file offset just after it (where reading would resume) and its bytes on disk. */
export type OnLine = (line: string, endOffset: number, inode: number, bytes: number) => void;

export interface TailEvents {
  rotations: number;
  truncations: number;
}

/**
 * Follows one log file by path. Keeps the file open, so that after a rotation (the path now names
 * a new inode) it first reads the old file to its end, then starts the new one at 0. A file that
 * shrank below the read offset was truncated in place and is read again from 0.
 */
export class FileTailer {
  private handle: FileHandle | undefined;
  private inode = -1;
  /** Offset after the last complete line handed on. */
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);
  private readonly buf: Buffer;
  readonly events: TailEvents = { rotations: 0, truncations: 0 };

  constructor(
    readonly path: string,
    private readonly options: FileTailerOptions,
  ) {
    this.buf = Buffer.allocUnsafe(options.chunkBytes);
  }

  /**
   * Opens the file. With a position for the same inode, reading resumes there; with `end`, new
   * lines only; otherwise from the start. Returns false when the file does not exist.
   */
  async open(from: TailPosition | 'start' | 'end'): Promise<boolean> {
    let h: FileHandle;
    try {
      h = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const st = await h.stat();
    this.handle = h;
    this.inode = st.ino;
    this.carry = Buffer.alloc(0);
    if (from === 'end') this.offset = st.size;
    else if (from === 'start' || from.inode !== st.ino) this.offset = 0;
    else this.offset = from.offset <= st.size ? from.offset : 0;
    return true;
  }

  position(): TailPosition {
    return { inode: this.inode, offset: this.offset };
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** Reads everything new, following a rotation or truncation. Returns false once the path is gone for good. */
  async poll(onLine: OnLine): Promise<boolean> {
    if (this.handle === undefined && !(await this.open('start'))) return false;
    await this.drain(onLine);
    const now = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (now !== undefined && now.ino === this.inode) return true;
    // Rotated (renamed, or removed): the writer has moved on, so the old file is complete.
    await this.drain(onLine);
    this.flushCarry(onLine);
    await this.close();
    if (now === undefined) return false;
    this.events.rotations++;
    if (!(await this.open('start'))) return false;
    await this.drain(onLine);
    return true;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  private async drain(onLine: OnLine): Promise<void> {
    const h = this.handle;
    if (h === undefined) return;
    const size = (await h.stat()).size;
    if (size < this.offset + this.carry.length) {
      this.events.truncations++;
      this.offset = 0;
      this.carry = Buffer.alloc(0);
    }
    for (;;) {
      const at = this.offset + this.carry.length;
      const { bytesRead } = await h.read(this.buf, 0, this.buf.length, at);
      if (bytesRead === 0) return;
      this.split(this.buf.subarray(0, bytesRead), onLine);
    }
  }

  private split(chunk: Buffer, onLine: OnLine): void {
    let data = chunk;
    if (this.carry.length > 0) data = Buffer.concat([this.carry, chunk]);
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl < 0) break;
      this.offset += nl + 1 - start;
      onLine(data.toString('utf8', start, nl), this.offset, this.inode, nl + 1 - start);
      start = nl + 1;
    }
    let rest = data.subarray(start);
    while (rest.length > this.options.maxLineBytes) {
      const piece = rest.subarray(0, this.options.maxLineBytes);
      this.offset += piece.length;
      onLine(piece.toString('utf8'), this.offset, this.inode, piece.length);
      rest = rest.subarray(this.options.maxLineBytes);
    }
    // Copy: `chunk` is the shared read buffer and is overwritten by the next read.
    this.carry = Buffer.from(rest);
  }

  private flushCarry(onLine: OnLine): void {
    if (this.carry.length === 0) return;
    this.offset += this.carry.length;
    onLine(this.carry.toString('utf8'), this.offset, this.inode, this.carry.length);
    this.carry = Buffer.alloc(0);
  }
}
