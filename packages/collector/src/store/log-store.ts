import { mkdir, open, readFile, readdir, truncate, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { LogLevelValue } from '@edge-telemetry/protocol';
import { Compressor, Decompressor } from 'zstd-napi';
import { CollectorError } from '../errors.js';
import { isDiskFull, shortWriteError } from '../runtime/disk-full.js';
import type { FileRef } from '../sources/types.js';
import { encodeBlock, parseBlock, peekBlock, type BlockMeta } from './block.js';
import type { LogStoreOptions } from './options.js';
import { decodeRecords, RecordWriter, type StoredLogRecord } from './record-codec.js';
import { addBlock, emptySegment, scanSegment, type SegmentIndex } from './segment-file.js';

export interface LogQuery {
  container?: string;
  /** Inclusive lower bound (ms). */
  since: number;
  /** Exclusive upper bound (ms); open-ended when absent. */
  until?: number;
  /** Minimum level. */
  level?: LogLevelValue;
  /** Substring, or a regular expression, the line must contain. */
  /** A substring, a pattern, or a test of the stored (unredacted) line. */
  grep?: string | RegExp | ((line: string) => boolean);
  /** Only the last N matching lines. */
  tail?: number;
  /** Only lines stored before this position (pin()): what a query saw once, it sees again. */
  before?: StorePosition;
}

/**
 * A place in the store's append order: blocks are appended to the end of the current segment and
 * segments are numbered in order, so (segment, offset) grows with every block and survives a restart.
 */
export interface StorePosition {
  segment: number;
  offset: number;
}

/** A torn or corrupt tail found at open and cut off. */
export interface Recovery {
  segment: string;
  offset: number;
  bytesCut: number;
}

export interface LogStoreStats {
  segments: number;
  bytes: number;
  records: number;
  evictedSegments: number;
  evictedRecords: number;
  evictedBytes: number;
  /** Records refused because writes lagged more than maxPendingBytes behind. */
  droppedRecords: number;
  /** Records of blocks that could not be written even after evicting every older segment (a full disk). */
  lostRecords: number;
  writeErrors: number;
  /** Segments evicted early because the disk was full (also in evictedSegments). */
  diskFullEvictions: number;
  /** Block writes that found the disk full (each then evicted to make room, or lost its lines). */
  diskFullWrites: number;
  recoveries: Recovery[];
}

/** What the store holds of one source file: every line ending at or before `offset`, and those ending at `extra`. */
export interface StoredSpan {
  inode: number;
  offset: number;
  extra: number[];
}

const SEGMENT_NAME = /^seg-(\d{10})\.log$/;
const segmentName = (seq: number) => `seg-${String(seq).padStart(10, '0')}.log`;

/**
 * The node's full-log store: append-only segment files of zstd-compressed, CRC-checked blocks
 * under a byte cap (oldest segment evicted first), indexed by container and time. `append` is
 * synchronous and cheap; `flush` makes everything appended so far durable (fdatasync).
 */
export class LogStore {
  private readonly segments: SegmentIndex[] = [];
  private current!: SegmentIndex;
  private handle: FileHandle | undefined;
  /** Lines appended since the last block, already in block payload form. */
  private readonly pending: RecordWriter;
  private pendingBytes = 0;
  /** Per source file, what the pending lines add to what is stored of it (goes into the next block's meta). */
  private pendingEnds = new Map<string, { inode: number; upTo: number; extra: number[] }>();
  /**
   * Per source file, what the store held of it at open (from its blocks' meta). Only a file read
   * again after a restart needs it, so it is not kept up during the run, and its reader takes each
   * entry out (a file per container ever seen, before: issue 15).
   */
  private readonly ends = new Map<string, StoredSpan>();
  /** Bytes sealed into blocks but not yet written. */
  private queuedBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private lastWriteError: unknown;
  private readonly compressor = new Compressor();
  private readonly decompressor = new Decompressor();
  private closed = false;
  private readonly counters = {
    evictedSegments: 0,
    evictedRecords: 0,
    evictedBytes: 0,
    droppedRecords: 0,
    lostRecords: 0,
    writeErrors: 0,
    diskFullEvictions: 0,
    diskFullWrites: 0,
  };
  private readonly recoveries: Recovery[] = [];

  private constructor(private readonly options: LogStoreOptions) {
    this.compressor.setParameters({ compressionLevel: options.compressionLevel });
    // A block is sealed once its lines pass blockBytes, so that plus one line is what it needs mostly.
    this.pending = new RecordWriter(options.blockBytes + 64 * 1024);
  }

  /** Opens (or creates) the store, cutting off any torn or corrupt tail; never fails on bad data. */
  static async open(options: LogStoreOptions): Promise<LogStore> {
    const store = new LogStore(options);
    await store.recover();
    return store;
  }

  /**
   * Queues one line. `from` says where it came from: its file, where it ends there, and up to where
   * every line of that file has now been handed to the store. Returns false when it was dropped
   * because the disk lags too far behind.
   */
  append(r: StoredLogRecord, from?: { file: FileRef; end: number; upTo: number }): boolean {
    if (this.closed) throw new CollectorError('ET_ERR_STORE_CLOSED', this.options.dir);
    const bytes = 16 + r.line.length;
    if (this.pendingBytes + this.queuedBytes + bytes > this.options.maxPendingBytes) {
      this.counters.droppedRecords++;
      return false;
    }
    this.pending.add(r);
    this.pendingBytes += bytes;
    if (from !== undefined) {
      let e = this.pendingEnds.get(from.file.path);
      if (e === undefined || e.inode !== from.file.inode)
        this.pendingEnds.set(from.file.path, (e = { inode: from.file.inode, upTo: 0, extra: [] }));
      e.upTo = from.upTo;
      if (from.end > from.upTo) e.extra.push(from.end);
    }
    if (this.pendingBytes >= this.options.blockBytes) this.seal();
    return true;
  }

  /**
   * Per source file, where the last line the store held at open ends: lines read again after a
   * restart up to there are already stored (FileRef.storedUpTo). The reader may delete what it took.
   */
  sourceEnds(): Map<string, StoredSpan> {
    return this.ends;
  }

  /** A promise to wait on while more than two blocks wait for the disk (backpressure for readers); undefined otherwise. */
  backlog(): Promise<void> | undefined {
    return this.pendingBytes + this.queuedBytes > 2 * this.options.blockBytes ? this.chain : undefined;
  }

  /** Writes everything appended so far and waits until it is on disk. */
  async flush(): Promise<void> {
    if (this.pending.count > 0) this.seal();
    await this.chain;
    const err = this.lastWriteError;
    this.lastWriteError = undefined;
    if (err !== undefined) throw err;
    await this.handle?.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.handle?.close();
    this.handle = undefined;
  }

  stats(): LogStoreStats {
    let bytes = 0;
    let records = 0;
    for (const s of this.segments) {
      bytes += s.bytes;
      records += s.records;
    }
    return {
      segments: this.segments.length,
      bytes,
      records,
      ...this.counters,
      recoveries: [...this.recoveries],
    };
  }

  /**
   * Where the next block will go, once every line appended so far is in a block: a query with
   * `before` set to it sees exactly the lines stored now, however many arrive later with times
   * inside its range (a log pull's passes must agree: pull/responder.ts).
   */
  async pin(): Promise<StorePosition> {
    if (this.pending.count > 0) this.seal();
    await this.chain;
    return { segment: this.current.seq, offset: this.current.bytes };
  }

  /** Matching lines in time order (lines not yet flushed included). */
  async *query(q: LogQuery): AsyncGenerator<StoredLogRecord> {
    if (this.pending.count > 0) this.seal();
    await this.chain;
    const until = q.until ?? Infinity;
    const match = matcher(q);
    const segs = this.segments.filter(
      (s) =>
        s.maxTs >= q.since &&
        s.minTs < until &&
        (q.container === undefined || s.containers.has(q.container)) &&
        (q.before === undefined || s.seq <= q.before.segment),
    );
    // The oldest line any later segment can hold: what is older than it may be yielded now.
    const suffixMin = new Array<number>(segs.length + 1).fill(Infinity);
    for (let i = segs.length - 1; i >= 0; i--)
      suffixMin[i] = Math.min((segs[i] as SegmentIndex).minTs, suffixMin[i + 1] as number);
    let held: StoredLogRecord[] = [];
    const tail: StoredLogRecord[] = [];
    for (let i = 0; i < segs.length; i++) {
      const found = await this.readSegment(segs[i] as SegmentIndex, q, until, match);
      found.sort(byTs);
      held = mergeSorted(held, found);
      const limit = suffixMin[i + 1] as number;
      let cut = 0;
      while (cut < held.length && (held[cut] as StoredLogRecord).ts < limit) cut++;
      const ready = held.slice(0, cut);
      held = held.slice(cut);
      if (q.tail !== undefined) pushTail(tail, ready, q.tail);
      else yield* ready;
    }
    if (q.tail !== undefined) {
      pushTail(tail, held, q.tail);
      yield* tail;
    } else yield* held;
  }

  private async readSegment(
    seg: SegmentIndex,
    q: LogQuery,
    until: number,
    match: (r: StoredLogRecord) => boolean,
  ): Promise<StoredLogRecord[]> {
    // Every block up to here was whole on disk before the file is read (the index takes a block in
    // once it is written); what a write in progress adds after it is not looked at.
    const written = seg.bytes;
    let data: Buffer;
    try {
      data = await readFile(seg.path);
    } catch (err) {
      // Evicted while the query ran: its lines are gone, which the eviction counters already say.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: StoredLogRecord[] = [];
    const end = Math.min(written, q.before !== undefined && seg.seq === q.before.segment ? q.before.offset : Infinity);
    for (let at = 0; at < end;) {
      const head = peekBlock(data, at);
      if (head === undefined) break;
      const offset = at;
      at += head.size;
      if (head.maxTs < q.since || head.minTs >= until) continue;
      const block = parseBlock(data, offset);
      if (block === undefined) continue;
      if (q.container !== undefined && !block.containers.includes(q.container)) continue;
      for (const r of decodeRecords(this.decompressor.decompress(block.payload), block.containers, block.count))
        if (match(r)) out.push(r);
    }
    return out;
  }

  private seal(): void {
    const w = this.pending;
    const ends: BlockMeta['ends'] = [...this.pendingEnds].map(([path, e]) => [
      path,
      e.inode,
      e.upTo,
      e.extra.filter((x) => x > e.upTo),
    ]);
    this.pendingEnds = new Map();
    const payload = this.compressor.compress(w.payload());
    const meta = { count: w.count, minTs: w.minTs, maxTs: w.maxTs, containers: w.containers(), ends };
    w.reset();
    const block = encodeBlock(meta, payload);
    const rawBytes = this.pendingBytes;
    this.pendingBytes = 0;
    this.queuedBytes += rawBytes;
    this.chain = this.chain
      .then(() => this.write(block, meta))
      .catch((err: unknown) => {
        this.counters.writeErrors++;
        this.lastWriteError = err;
      })
      .finally(() => {
        this.queuedBytes -= rawBytes;
      });
  }

  /**
   * Gives disk space back to the other user of the data volume (the outbox, whose batches the
   * centre has not got yet, is worth more than old local lines): evicts the oldest segment, counted
   * as a disk-full eviction. False when the store holds nothing to evict.
   */
  freeSpace(): Promise<boolean> {
    const run = this.chain.then(() => this.evictForSpace());
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run.catch(() => false);
  }

  /**
   * Writes one block at the end of the current segment. On a full disk, what reached the file is
   * cut off again (the segment stays whole) and the oldest segments are evicted, one at a time,
   * the current one last, until the block fits; when nothing is left to evict the block is lost,
   * counted (ET_ERR_DISK_FULL).
   */
  private async write(block: Buffer, meta: BlockMeta): Promise<void> {
    if (this.current.bytes > 0 && this.current.bytes + block.length > this.options.segmentBytes)
      await this.rollSegment();
    for (;;) {
      const h = this.handle as FileHandle;
      const offset = this.current.bytes;
      try {
        const { bytesWritten } = await h.write(block, 0, block.length, offset);
        if (bytesWritten !== block.length) throw shortWriteError(bytesWritten, block.length);
      } catch (err) {
        await h.truncate(offset).catch(() => undefined);
        if (!isDiskFull(err)) throw err;
        this.counters.diskFullWrites++;
        if (await this.evictForSpace()) continue;
        this.counters.lostRecords += meta.count;
        throw new CollectorError('ET_ERR_DISK_FULL', `${this.options.dir}: ${meta.count} lines not stored`);
      }
      addBlock(this.current, { offset, size: block.length, ...meta });
      await this.enforceCap();
      return;
    }
  }

  private noteEnds(ends: BlockMeta['ends']): void {
    for (const [path, inode, upTo, extra] of ends) {
      const was = this.ends.get(path);
      const more = was !== undefined && was.inode === inode ? was.extra.filter((x) => x > upTo) : [];
      this.ends.set(path, { inode, offset: upTo, extra: [...more, ...extra.filter((x) => x > upTo)] });
    }
  }

  /** Evicts the oldest segment holding lines (the current one when it is the only one); false when there is none. */
  private async evictForSpace(): Promise<boolean> {
    if (this.segments.length > 1) {
      this.counters.diskFullEvictions++;
      await this.evictOldest();
      return true;
    }
    if (this.current.bytes === 0) return false;
    this.counters.diskFullEvictions++;
    await this.handle?.close();
    this.handle = undefined;
    await this.evictOldest();
    const seg = emptySegment(this.current.seq + 1, path.join(this.options.dir, segmentName(this.current.seq + 1)));
    this.handle = await open(seg.path, 'w');
    this.segments.push(seg);
    this.current = seg;
    return true;
  }

  private async evictOldest(): Promise<void> {
    const oldest = this.segments.shift() as SegmentIndex;
    this.counters.evictedSegments++;
    this.counters.evictedRecords += oldest.records;
    this.counters.evictedBytes += oldest.bytes;
    await unlink(oldest.path).catch(() => undefined);
  }

  private async rollSegment(): Promise<void> {
    await this.handle?.datasync();
    await this.handle?.close();
    const seg = emptySegment(this.current.seq + 1, path.join(this.options.dir, segmentName(this.current.seq + 1)));
    this.handle = await open(seg.path, 'w');
    this.segments.push(seg);
    this.current = seg;
  }

  private async enforceCap(): Promise<void> {
    let total = 0;
    for (const s of this.segments) total += s.bytes;
    while (total > this.options.maxBytes && this.segments.length > 1) {
      total -= (this.segments[0] as SegmentIndex).bytes;
      await this.evictOldest();
    }
  }

  private async recover(): Promise<void> {
    const dir = this.options.dir;
    await mkdir(dir, { recursive: true });
    const seqs = (await readdir(dir))
      .map((f) => SEGMENT_NAME.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      const p = path.join(dir, segmentName(seq));
      const data = await readFile(p);
      const { index, validBytes, ends } = scanSegment(seq, p, data);
      if (validBytes < data.length) {
        await truncate(p, validBytes);
        this.recoveries.push({ segment: segmentName(seq), offset: validBytes, bytesCut: data.length - validBytes });
      }
      this.segments.push(index);
      this.noteEnds(ends);
    }
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.bytes < this.options.segmentBytes) {
      this.current = last;
      this.handle = await open(last.path, 'r+');
    } else {
      const seq = last === undefined ? 1 : last.seq + 1;
      this.current = emptySegment(seq, path.join(dir, segmentName(seq)));
      this.handle = await open(this.current.path, 'w');
      this.segments.push(this.current);
    }
  }
}

function matcher(q: LogQuery): (r: StoredLogRecord) => boolean {
  const until = q.until ?? Infinity;
  const grep = q.grep;
  const test =
    grep === undefined
      ? undefined
      : typeof grep === 'string'
        ? (s: string) => s.includes(grep)
        : typeof grep === 'function'
          ? grep
          : (s: string) => grep.test(s);
  return (r) =>
    r.ts >= q.since &&
    r.ts < until &&
    (q.container === undefined || r.container === q.container) &&
    (q.level === undefined || r.level >= q.level) &&
    (test === undefined || test(r.line));
}

function byTs(a: StoredLogRecord, b: StoredLogRecord): number {
  return a.ts - b.ts;
}

function mergeSorted(a: StoredLogRecord[], b: StoredLogRecord[]): StoredLogRecord[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: StoredLogRecord[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length)
    out.push(
      (a[i] as StoredLogRecord).ts <= (b[j] as StoredLogRecord).ts
        ? (a[i++] as StoredLogRecord)
        : (b[j++] as StoredLogRecord),
    );
  while (i < a.length) out.push(a[i++] as StoredLogRecord);
  while (j < b.length) out.push(b[j++] as StoredLogRecord);
  return out;
}

function pushTail(tail: StoredLogRecord[], more: StoredLogRecord[], n: number): void {
  for (const r of more) tail.push(r);
  if (tail.length > n) tail.splice(0, tail.length - n);
}
