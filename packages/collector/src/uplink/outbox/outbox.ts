/**
 * The disk outbox: every batch is here, durably, before it is published, and stays until the
 * ingester acknowledges it.
 *
 * Durability (the fsync policy): appends are group-committed. Records queued while a write is in
 * flight are written together with one write() and one fdatasync(); each append() promise
 * resolves only after the fdatasync that covers its record. So kill -9 (or power loss on a disk
 * that honours flushes) never loses a record whose append() resolved. A new segment's directory
 * entry is fsynced before its first record resolves. Tombstones (acks, evictions) are written
 * without fsync: losing one only resends a batch the ingester then deduplicates; the tombstone
 * log is fsynced before any segment is deleted, so the highest used seq survives every crash.
 *
 * On open: every segment is scanned; corrupt stretches and torn tails are cut (the segment is
 * rewritten with its valid records) and reported through onCut, and a new epoch is drawn (the cut
 * records' seqs are unknown, so the next seqs could reuse them); the cap is checked against the
 * bytes actually on disk, evicting if needed. New records go to a new segment.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CollectorError } from '../../errors.js';
import { isDiskFull, shortWriteError } from '../../runtime/disk-full.js';
import { AckEntryKind, countEntries, encodeAckEntries, scanAckEntries, type AckEntry } from './ack-log.js';
import type { OutboxOptions } from './options.js';
import {
  encodeRecord,
  fitsWithCursor,
  readCursor,
  readRecordAt,
  RECORD_HEADER_BYTES,
  RECORD_KIND_BATCH,
  RECORD_KIND_BATCH_WITH_CURSOR,
  recordKey,
  scanRecords,
  withCursor,
} from './record.js';
import { PRIORITY_CLASSES } from '../../batch/priority-classes.js';
import {
  freshEpoch,
  promoteAheadCursor,
  aheadFile,
  readAheadCursors,
  readCursorFile,
  removeAheadCursor,
  readEpoch,
  syncDir,
  writeCursorFile,
  writeEpoch,
  writeFileDurably,
} from './state-file.js';

const ACK_LOG = 'acks.log';
/** The ack log is rewritten past this size (64 Ki entries), so it stays bounded between restarts. */
const ACK_LOG_COMPACT_BYTES = 1024 * 1024;
const SEGMENT_RE = /^(\d{10})\.seg$/;

export type RecordState = 'pending' | 'live' | 'acked' | 'evicted';

export interface OutboxRecord {
  readonly epoch: number;
  readonly seq: number;
  readonly priorityClass: number;
  readonly createdAt: number;
  /** Header + payload bytes on disk. */
  readonly size: number;
  state: RecordState;
  /** Eviction counts (by class) this record's batch reports; owed again if the record is evicted. */
  readonly carries: readonly number[] | undefined;
  /** Where the batch starts in the record (after the header, and the cursor when it carries one). */
  readonly batchAt: number;
  segment: Segment | undefined;
  offset: number;
}

interface Segment {
  id: number;
  file: string;
  size: number;
  records: OutboxRecord[];
  live: number;
  /** Opened on the first read; closed when the segment is rewritten or deleted. */
  reader: Promise<FileHandle> | undefined;
}

export interface CutReport {
  file: string;
  bytes: number;
  /** Corrupt stretches (a stretch may have held several records). */
  ranges: number;
  /** Valid records kept from the segment. */
  kept: number;
}

export interface OutboxHooks {
  /** Called once per segment (or the ack log) that had corrupt or torn bytes at open. */
  onCut?: (cut: CutReport) => void;
  /** Called per evicted record (the uplink counts them for the next batch). */
  onEvict?: (rec: OutboxRecord) => void;
  /** Called once at open with the records of torn groups dropped (their lines are read again). */
  onOrphans?: (records: number) => void;
  /**
   * Asked for disk space when a write finds the volume full, before the write is given up: another
   * user of the volume (the full-log store) frees some and resolves true, or false when it has none.
   */
  freeSpace?: () => Promise<boolean>;
}

export interface OutboxStats {
  epoch: number;
  /** Records waiting for an ack, and their bytes. */
  liveRecords: number;
  liveBytes: number;
  /** Segment bytes on disk now, what the cap is held against. */
  diskBytes: number;
  /** Evictions since open, by priority class. */
  evicted: number[];
  /** Evictions the next batch has not reported yet, by class (survives restarts). */
  unreportedEvictions: number[];
  cutBytes: number;
  cutRanges: number;
  /** Writes that found the disk full (each then freed space and wrote, or was refused). */
  diskFullWrites: number;
  /** Records refused because the disk was full and nothing more could be freed (also in `evicted`). */
  diskFullRefused: number;
}

export interface AppendInput {
  epoch: number;
  seq: number;
  priorityClass: number;
  createdAt: number;
  payload: Uint8Array;
  /** Eviction counts by class that the payload reports (from unreportedEvictions()). */
  carries?: readonly number[];
}

/** The newest cursor appended, and whether a state file holds it too (so its record may go). */
interface CursorState {
  generation: number;
  bytes: Buffer;
  /** The segment of the record carrying it (undefined while being written, or once only the state file has it). */
  segment: Segment | undefined;
  persisted: boolean;
}

interface WrittenCursor {
  generation: number;
  bytes: Buffer;
  ahead: boolean;
}

interface PendingWrite {
  rec: OutboxRecord;
  bytes: Buffer;
  /** The cursor this record carries, current once it is written; `ahead`: in its own file (too large for the record). */
  cursor: WrittenCursor | undefined;
  resolve: (rec: OutboxRecord) => void;
  reject: (err: Error) => void;
}

export class Outbox {
  readonly epoch: number;
  private nextSeqValue: number;
  private readonly segments: Segment[] = [];
  private readonly byKey = new Map<string, OutboxRecord>();
  /** Per class, records in append order; `heads` skips those already gone. */
  private readonly byClass: OutboxRecord[][] = Array.from({ length: PRIORITY_CLASSES }, () => []);
  private readonly heads: number[] = new Array<number>(PRIORITY_CLASSES).fill(0);
  /** Per class, records acknowledged since its list was last compacted (compactClass). */
  private readonly ackedInClass: number[] = new Array<number>(PRIORITY_CLASSES).fill(0);
  private liveBytes = 0;
  private liveCount = 0;
  private diskBytes = 0;
  private readonly evicted: number[] = new Array<number>(PRIORITY_CLASSES).fill(0);
  private readonly unreported: number[];
  private cutBytes = 0;
  private cutRanges = 0;
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private nextSegmentId: number;
  private pending: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private ackLog: FileHandle;
  private ackLogBytes: number;
  private ackChain: Promise<void> = Promise.resolve();
  private compacting = false;
  private closed = false;
  private cursorState: CursorState | undefined;
  private diskFullWrites = 0;
  private diskFullRefused = 0;
  /** Highest seq on disk (written, or gone after being written) per epoch: a group's carrier is there unless torn. */
  private readonly written = new Map<number, number>();

  private constructor(
    private readonly opts: OutboxOptions,
    private readonly hooks: OutboxHooks,
    init: {
      epoch: number;
      nextSeq: number;
      nextSegmentId: number;
      ackLog: FileHandle;
      ackLogBytes: number;
      unreported: number[];
      cursor: CursorState | undefined;
      written: Map<number, number>;
    },
  ) {
    this.epoch = init.epoch;
    this.nextSeqValue = init.nextSeq;
    this.nextSegmentId = init.nextSegmentId;
    this.ackLog = init.ackLog;
    this.ackLogBytes = init.ackLogBytes;
    this.unreported = init.unreported;
    this.cursorState = init.cursor;
    for (const [e, seq] of init.written) this.written.set(e, seq);
  }

  static async open(opts: OutboxOptions, hooks: OutboxHooks = {}): Promise<Outbox> {
    try {
      return await Outbox.load(opts, hooks);
    } catch (err) {
      if (err instanceof CollectorError) throw err;
      throw new CollectorError('ET_ERR_OUTBOX_IO', `${opts.dir}: ${(err as Error).message}`);
    }
  }

  private static async load(opts: OutboxOptions, hooks: OutboxHooks): Promise<Outbox> {
    await mkdir(opts.dir, { recursive: true });
    // Listed once: the segments here, the waiting cursors (readAheadCursors) below.
    const listing = await readdir(opts.dir);
    const names = listing.filter((n) => SEGMENT_RE.test(n)).sort();
    const stored = await readEpoch(opts.dir);
    let epoch = stored ?? freshEpoch();
    if (stored === undefined) await writeEpoch(opts.dir, epoch);

    const ackBuf = await readFile(path.join(opts.dir, ACK_LOG)).catch(() => Buffer.alloc(0));
    const acks = scanAckEntries(ackBuf);
    if (acks.cutBytes > 0) hooks.onCut?.({ file: ACK_LOG, bytes: acks.cutBytes, ranges: 1, kept: acks.entries.length });
    const gone = new Set<string>();
    const unreported = new Array<number>(PRIORITY_CLASSES).fill(0);
    const carried = new Map<string, number[]>();
    const carry = (e: AckEntry, cls: number) => {
      const k = recordKey(e.epoch, e.seq);
      const c = carried.get(k) ?? new Array<number>(PRIORITY_CLASSES).fill(0);
      c[cls] = (c[cls] ?? 0) + e.count;
      carried.set(k, c);
    };
    let maxSeq = -1;
    // Per epoch, the highest seq known to have been on disk: the ack log's entries and every record scanned.
    const written = new Map<number, number>();
    const wrote = (e: number, seq: number) => written.set(e, Math.max(written.get(e) ?? -1, seq));
    for (const e of acks.entries) {
      if (e.kind === AckEntryKind.ack || e.kind === AckEntryKind.evict || e.kind === AckEntryKind.highWater)
        wrote(e.epoch, e.seq);
      if (e.kind === AckEntryKind.ack || e.kind === AckEntryKind.evict) gone.add(recordKey(e.epoch, e.seq));
      const cls = e.priorityClass % PRIORITY_CLASSES;
      if (e.kind === AckEntryKind.evict) unreported[cls] = (unreported[cls] ?? 0) + 1;
      if (e.kind === AckEntryKind.unreported) unreported[cls] = (unreported[cls] ?? 0) + e.count;
      if (e.kind === AckEntryKind.reported) unreported[cls] = Math.max(0, (unreported[cls] ?? 0) - e.count);
      if (e.kind === AckEntryKind.reported || e.kind === AckEntryKind.carried) carry(e, cls);
      if (
        (e.kind === AckEntryKind.ack || e.kind === AckEntryKind.evict || e.kind === AckEntryKind.highWater) &&
        e.epoch === epoch
      )
        maxSeq = Math.max(maxSeq, e.seq);
    }

    const segments: Segment[] = [];
    let cutBytes = acks.cutBytes;
    let cutRanges = acks.cutBytes > 0 ? 1 : 0;
    const scans = [];
    for (const name of names) {
      const file = path.join(opts.dir, name);
      const buf = await readFile(file);
      const scan = scanRecords(buf, opts.recordCapBytes);
      for (const r of scan.records) wrote(r.epoch, r.seq);
      scans.push({ name, file, buf, scan });
    }
    // The newest cursor: in the state file, or in a record still on disk (acknowledged or not).
    let cursor: CursorState | undefined = await readCursorFile(opts.dir).then((c) =>
      c === undefined ? undefined : { ...c, segment: undefined, persisted: true },
    );
    let orphans = 0;
    // Records whose group is whole on disk, acknowledged or not: the carriers a waiting cursor may name.
    const whole = new Set<string>();
    const scanned = new Map<Segment, { buf: Buffer; cut: boolean }>();
    for (const { name, file, buf, scan } of scans) {
      const seg: Segment = {
        id: Number(name.slice(0, 10)),
        file,
        size: buf.length,
        records: [],
        live: 0,
        reader: undefined,
      };
      const orphansBefore = orphans;
      for (const r of scan.records) {
        if (r.epoch === epoch) maxSeq = Math.max(maxSeq, r.seq);
        // Its group's carrier never reached the disk: the group was torn, and goes as a whole.
        if (r.group > 0 && r.seq + r.group > (written.get(r.epoch) ?? -1)) {
          orphans++;
          continue;
        }
        whole.add(recordKey(r.epoch, r.seq));
        let batchAt = RECORD_HEADER_BYTES;
        if (r.kind === RECORD_KIND_BATCH_WITH_CURSOR) {
          const c = readCursor(buf.subarray(r.offset + RECORD_HEADER_BYTES, r.offset + r.size));
          if (c === undefined) continue;
          batchAt += c.batchAt;
          if (cursor === undefined || c.generation > cursor.generation)
            cursor = { generation: c.generation, bytes: Buffer.from(c.cursor), segment: seg, persisted: false };
        }
        if (gone.has(recordKey(r.epoch, r.seq))) continue;
        seg.records.push({
          epoch: r.epoch,
          seq: r.seq,
          priorityClass: r.priorityClass,
          createdAt: r.createdAt,
          size: r.size,
          state: 'live',
          carries: carried.get(recordKey(r.epoch, r.seq)),
          batchAt,
          segment: seg,
          offset: r.offset,
        });
      }
      if (scan.cutBytes > 0) {
        cutBytes += scan.cutBytes;
        cutRanges += scan.cutRanges;
        hooks.onCut?.({ file: name, bytes: scan.cutBytes, ranges: scan.cutRanges, kept: scan.records.length });
      }
      seg.live = seg.records.length;
      segments.push(seg);
      // Torn groups' records are removed from the file too: a later seq must never make them whole.
      scanned.set(seg, { buf, cut: scan.cutBytes > 0 || orphans > orphansBefore });
    }
    if (orphans > 0) hooks.onOrphans?.(orphans);
    // A cursor that went ahead of its group (appendGroup) is the newest exactly when its carrier
    // reached the disk; either way its file goes once the newest is in the cursor file.
    const ahead = await readAheadCursors(opts.dir, listing);
    for (const a of ahead)
      if (a.cursor && whole.has(recordKey(a.epoch, a.seq)) && a.cursor.generation > (cursor?.generation ?? 0))
        cursor = { ...a.cursor, segment: undefined, persisted: false };
    // The newest cursor must outlive the record carrying it, which the clean-up below may remove.
    if (cursor !== undefined && !cursor.persisted) {
      await writeCursorFile(opts.dir, cursor.generation, cursor.bytes);
      cursor.persisted = true;
    }
    for (const a of ahead) await removeAheadCursor(opts.dir, a.name);
    for (const seg of [...segments]) {
      const { buf, cut } = scanned.get(seg) as { buf: Buffer; cut: boolean };
      if (seg.records.length === 0) {
        await unlink(seg.file);
        segments.splice(segments.indexOf(seg), 1);
        continue;
      }
      // Rewrite when bytes were cut or most of the segment is dead: the file then holds exactly the live records.
      const liveBytes = seg.records.reduce((n, r) => n + r.size, 0);
      if (cut || liveBytes < buf.length / 2) await rewriteSegment(seg, buf);
    }

    // Cut bytes may have held records that were published but not yet acknowledged, whose seqs
    // the scan can no longer see: a new epoch keeps the next seqs from reusing their keys.
    if (cutBytes > acks.cutBytes) {
      epoch = freshEpoch(epoch);
      await writeEpoch(opts.dir, epoch);
      maxSeq = -1;
    }

    // Compact the tombstone log: only the seq high-water mark and unreported evictions matter now.
    const keep: AckEntry[] = [];
    if (maxSeq >= 0) keep.push({ kind: AckEntryKind.highWater, priorityClass: 0, count: 0, epoch, seq: maxSeq });
    // Older epochs with records left keep theirs, so that their groups are still known whole at the next open.
    const epochsLeft = new Set(segments.flatMap((s) => s.records.map((r) => r.epoch)));
    for (const e of epochsLeft)
      if (e !== epoch)
        keep.push({ kind: AckEntryKind.highWater, priorityClass: 0, count: 0, epoch: e, seq: written.get(e) ?? -1 });
    unreported.forEach((n, cls) => keep.push(...countEntries(AckEntryKind.unreported, cls, n)));
    for (const seg of segments) {
      for (const r of seg.records)
        r.carries?.forEach((n, cls) => keep.push(...countEntries(AckEntryKind.carried, cls, n, r.epoch, r.seq)));
    }
    const ackFile = path.join(opts.dir, ACK_LOG);
    const ackBytes = encodeAckEntries(keep);
    await writeFileDurably(ackFile, ackBytes);
    const ackLog = await open(ackFile, 'a');

    const lastId = names.length > 0 ? Number(names[names.length - 1]?.slice(0, 10)) : 0;
    const box = new Outbox(opts, hooks, {
      epoch,
      nextSeq: maxSeq + 1,
      nextSegmentId: lastId + 1,
      ackLog,
      ackLogBytes: ackBytes.length,
      unreported,
      cursor,
      written: new Map([...written].filter(([e]) => e === epoch || epochsLeft.has(e))),
    });
    box.cutBytes = cutBytes;
    box.cutRanges = cutRanges;
    for (const seg of segments) box.adopt(seg);
    // A lowered cap or a disk filled by an older version: hold the cap from what is on disk now.
    if (box.diskBytes > opts.capBytes) {
      box.evictFor(0, 0);
      await box.reclaim(0);
    }
    return box;
  }

  private adopt(seg: Segment): void {
    this.segments.push(seg);
    this.diskBytes += seg.size;
    for (const r of seg.records) {
      this.byKey.set(recordKey(r.epoch, r.seq), r);
      this.byClass[r.priorityClass]?.push(r);
      this.liveBytes += r.size;
      this.liveCount++;
    }
  }

  get capBytes(): number {
    return this.opts.capBytes;
  }

  /** The next seq of this epoch; never handed out twice, even across restarts (see the ack log's high-water mark). */
  nextSeq(): number {
    return this.nextSeqValue++;
  }

  /**
   * Appends a record; resolves after the fdatasync covering it. When the cap would be exceeded,
   * less valuable (higher class) records go first, then older records of the same class; when
   * only more valuable records remain the append is refused (ET_ERR_OUTBOX_FULL) and counted as
   * an eviction of its own class.
   */
  append(input: AppendInput): Promise<OutboxRecord> {
    if (this.closed) return Promise.reject(new CollectorError('ET_ERR_OUTBOX_CLOSED', this.opts.dir));
    if (input.payload.length > this.opts.recordCapBytes) {
      return Promise.reject(
        new CollectorError('ET_ERR_RECORD_TOO_LARGE', `${input.payload.length} > ${this.opts.recordCapBytes} bytes`),
      );
    }
    const bytes = encodeRecord(
      {
        kind: RECORD_KIND_BATCH,
        priorityClass: input.priorityClass,
        group: 0,
        epoch: input.epoch,
        seq: input.seq,
        createdAt: input.createdAt,
      },
      input.payload,
    );
    if (!this.evictFor(bytes.length, input.priorityClass)) {
      this.countEviction(input.priorityClass, input.epoch, input.seq);
      return Promise.reject(
        new CollectorError('ET_ERR_OUTBOX_FULL', `class ${input.priorityClass}, ${bytes.length} bytes`),
      );
    }
    return this.enqueueRecord(input, bytes, RECORD_HEADER_BYTES, undefined);
  }

  private enqueueRecord(
    input: AppendInput,
    bytes: Buffer,
    batchAt: number,
    cursor: WrittenCursor | undefined,
  ): Promise<OutboxRecord> {
    if (input.epoch === this.epoch && input.seq >= this.nextSeqValue) this.nextSeqValue = input.seq + 1;
    const carries = input.carries?.some((n) => n > 0) ? [...input.carries] : undefined;
    const rec: OutboxRecord = {
      epoch: input.epoch,
      seq: input.seq,
      priorityClass: input.priorityClass,
      createdAt: input.createdAt,
      size: bytes.length,
      state: 'pending',
      carries,
      batchAt,
      segment: undefined,
      offset: -1,
    };
    if (carries) this.settleEvictions(carries, -1, rec);
    this.byKey.set(recordKey(rec.epoch, rec.seq), rec);
    this.byClass[rec.priorityClass]?.push(rec);
    this.liveBytes += rec.size;
    this.liveCount++;
    return new Promise((resolve, reject) => {
      this.pending.push({ rec, bytes, cursor, resolve, reject });
      this.kick();
    });
  }

  /**
   * Appends records that must be on disk together or not at all (a window's batches and the
   * reading positions they make durable), in one write. The last one carries `cursor`: after a
   * crash, `cursor()` returns it exactly when every record of the group is on disk. Under the cap,
   * the least valuable members are left out (each counted as an eviction) before the group is
   * refused as a whole (ET_ERR_OUTBOX_FULL); the carrier is never left out alone. An empty group
   * (a seal none of whose batches is kept: refused by the codec, or withheld, each counted as a
   * drop) still moves the cursor, alone (saveCursor): reading those lines again would only make
   * the same batches, and count their drops twice. A cursor that does not fit in its carrier's
   * record (recordCapBytes: the reading positions of thousands of log files, 170 B each) goes
   * ahead of the group in a file of its own, which the group's write commits (flushChunk).
   */
  appendGroup(inputs: readonly AppendInput[], cursor?: Buffer): Promise<OutboxRecord[]> {
    if (this.closed) return Promise.reject(new CollectorError('ET_ERR_OUTBOX_CLOSED', this.opts.dir));
    if (inputs.length === 0) return cursor === undefined ? Promise.resolve([]) : this.saveCursor(cursor).then(() => []);
    const carrier = inputs[inputs.length - 1] as AppendInput;
    // Refusing the group for its cursor (ET_ERR_RECORD_TOO_LARGE) left the node sending nothing,
    // every pass, for good; saving it after the group let a crash in between seal those windows
    // again (their lines read again from the older cursor) under new seqs: stored twice.
    const ahead = cursor !== undefined && !fitsWithCursor(carrier.payload, cursor, this.opts.recordCapBytes);
    const carried = ahead ? undefined : cursor;
    const generation = cursor === undefined ? 0 : (this.cursorState?.generation ?? 0) + 1;
    const encoded = inputs.map((input, i) => {
      const last = i === inputs.length - 1;
      const payload = last && carried !== undefined ? withCursor(generation, carried, input.payload) : input.payload;
      return { input, payload, batchAt: RECORD_HEADER_BYTES + payload.length - input.payload.length, last };
    });
    for (const e of encoded)
      if (e.payload.length > this.opts.recordCapBytes)
        return Promise.reject(
          new CollectorError('ET_ERR_RECORD_TOO_LARGE', `${e.payload.length} > ${this.opts.recordCapBytes} bytes`),
        );
    // Leave out the least valuable members until the rest fits (never the carrier).
    let kept = encoded;
    const size = (xs: typeof encoded) => xs.reduce((n, e) => n + RECORD_HEADER_BYTES + e.payload.length, 0);
    const minClass = (xs: typeof encoded) => Math.min(...xs.map((e) => e.input.priorityClass));
    while (!this.evictFor(size(kept), minClass(kept))) {
      const worst = kept
        .filter((e) => !e.last)
        .reduce<(typeof encoded)[number] | undefined>(
          (w, e) => (w === undefined || e.input.priorityClass > w.input.priorityClass ? e : w),
          undefined,
        );
      if (worst === undefined) {
        for (const e of kept) this.countEviction(e.input.priorityClass, e.input.epoch, e.input.seq);
        return Promise.reject(
          new CollectorError('ET_ERR_OUTBOX_FULL', `group of ${inputs.length}, ${size(kept)} bytes`),
        );
      }
      this.countEviction(worst.input.priorityClass, worst.input.epoch, worst.input.seq);
      kept = kept.filter((e) => e !== worst);
    }
    return Promise.all(
      kept.map((e) =>
        this.enqueueRecord(
          e.input,
          encodeRecord(
            {
              kind: e.last && carried !== undefined ? RECORD_KIND_BATCH_WITH_CURSOR : RECORD_KIND_BATCH,
              priorityClass: e.input.priorityClass,
              group: carrier.seq - e.input.seq,
              epoch: e.input.epoch,
              seq: e.input.seq,
              createdAt: e.input.createdAt,
            },
            e.payload,
          ),
          e.batchAt,
          e.last && cursor !== undefined ? { generation, bytes: cursor, ahead } : undefined,
        ),
      ),
    );
  }

  /** Makes a cursor the newest on its own, in the cursor file (when there is no batch to carry it). */
  async saveCursor(cursor: Buffer): Promise<void> {
    const generation = (this.cursorState?.generation ?? 0) + 1;
    await writeCursorFile(this.opts.dir, generation, cursor);
    this.cursorState = { generation, bytes: cursor, segment: undefined, persisted: true };
  }

  /** The newest cursor appended (on disk once its append resolved), or the one left by the previous run. */
  cursor(): Buffer | undefined {
    return this.cursorState?.bytes;
  }

  /** The payload of a record (the encoded batch). */
  async read(rec: OutboxRecord): Promise<Buffer> {
    // A compaction may move the record between reading its offset and opening the file: retry once.
    for (let attempt = 0; ; attempt++) {
      const seg = rec.segment;
      if (!seg) throw new CollectorError('ET_ERR_OUTBOX_IO', `record ${rec.epoch}/${rec.seq} is not written yet`);
      const { file } = seg;
      const offset = rec.offset;
      seg.reader ??= open(file, 'r');
      const reader = seg.reader;
      const buf = Buffer.allocUnsafe(rec.size);
      const ok = await reader
        .then((fh) => fh.read(buf, 0, rec.size, offset))
        .then(
          () => true,
          () => false,
        );
      const got = ok ? readRecordAt(buf, 0, this.opts.recordCapBytes) : undefined;
      if (got && got.epoch === rec.epoch && got.seq === rec.seq) return buf.subarray(rec.batchAt);
      if (attempt > 0)
        throw new CollectorError('ET_ERR_OUTBOX_IO', `record ${rec.epoch}/${rec.seq} unreadable in ${file}`);
    }
  }

  /** The record of (epoch, seq) while the outbox holds it (live or pending). */
  record(epoch: number, seq: number): OutboxRecord | undefined {
    const rec = this.byKey.get(recordKey(epoch, seq));
    return rec && (rec.state === 'live' || rec.state === 'pending') ? rec : undefined;
  }

  /** Marks (epoch, seq) acknowledged; false when it is unknown or already gone (a duplicate ack). */
  ack(epoch: number, seq: number): boolean {
    const rec = this.record(epoch, seq);
    if (!rec) return false;
    this.drop(rec, 'acked');
    this.logEntries([{ kind: AckEntryKind.ack, priorityClass: rec.priorityClass, count: 0, epoch, seq }]);
    this.compactClass(rec.priorityClass);
    return true;
  }

  /**
   * Drops the records that are gone from their class's list once they are at least half of it.
   * Only eviction walks the list, and eviction is rare: without this, every record appended since
   * start stayed in it (and, through its segment, every deleted segment's record list), ~10,000
   * records over a 2 GiB backlog. Amortised O(1) per ack.
   */
  private compactClass(cls: number): void {
    const list = this.byClass[cls];
    const acked = (this.ackedInClass[cls] ?? 0) + 1;
    this.ackedInClass[cls] = acked;
    if (list === undefined || acked < 64 || acked * 2 < list.length) return;
    this.byClass[cls] = list.filter((r) => r.state === 'live' || r.state === 'pending');
    this.heads[cls] = 0;
    this.ackedInClass[cls] = 0;
  }

  /** Records waiting for an ack (written or being written), oldest first. */
  unacked(): OutboxRecord[] {
    const out: OutboxRecord[] = [];
    for (const seg of this.segments) for (const r of seg.records) if (r.state === 'live') out.push(r);
    for (const p of this.pending) if (p.rec.state === 'pending') out.push(p.rec);
    return out;
  }

  /** Evictions not yet reported, by class; the caller reports them in a batch appended with `carries`. */
  unreportedEvictions(): number[] {
    return [...this.unreported];
  }

  /** sign -1: the counts now travel in record `rec`; +1: that record was evicted, so they are owed again. */
  private settleEvictions(counts: readonly number[], sign: 1 | -1, rec: OutboxRecord): void {
    const entries: AckEntry[] = [];
    counts.forEach((n, cls) => {
      if (n <= 0) return;
      this.unreported[cls] = Math.max(0, (this.unreported[cls] ?? 0) + sign * n);
      entries.push(
        ...countEntries(sign < 0 ? AckEntryKind.reported : AckEntryKind.unreported, cls, n, rec.epoch, rec.seq),
      );
    });
    this.logEntries(entries);
  }

  stats(): OutboxStats {
    return {
      epoch: this.epoch,
      liveRecords: this.liveCount,
      liveBytes: this.liveBytes,
      diskBytes: this.diskBytes,
      evicted: [...this.evicted],
      unreportedEvictions: [...this.unreported],
      cutBytes: this.cutBytes,
      cutRanges: this.cutRanges,
      diskFullWrites: this.diskFullWrites,
      diskFullRefused: this.diskFullRefused,
    };
  }

  /** Waits for queued writes and tombstones, then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.ackChain;
    await this.ackLog.sync().catch(() => undefined);
    await this.ackLog.close();
    await this.active?.fh.close();
    this.active = undefined;
    for (const seg of this.segments) await closeReader(seg);
  }

  private drop(rec: OutboxRecord, state: 'acked' | 'evicted'): void {
    const wasWritten = rec.state === 'live';
    rec.state = state;
    this.byKey.delete(recordKey(rec.epoch, rec.seq));
    this.liveBytes -= rec.size;
    this.liveCount--;
    if (wasWritten && rec.segment) {
      rec.segment.live--;
      if (rec.segment.live === 0 && rec.segment !== this.active?.seg) this.kick();
    }
  }

  private countEviction(cls: number, epoch: number, seq: number): void {
    this.evicted[cls] = (this.evicted[cls] ?? 0) + 1;
    this.unreported[cls] = (this.unreported[cls] ?? 0) + 1;
    this.logEntries([{ kind: AckEntryKind.evict, priorityClass: cls, count: 0, epoch, seq }]);
  }

  /**
   * Evicts written records until `size` more bytes fit under the cap: the least valuable class
   * first, oldest first within it, never a class more valuable than `cls`. False when it cannot.
   */
  private evictFor(size: number, cls: number): boolean {
    const fits = () => this.liveBytes + size <= this.opts.capBytes;
    for (let c = PRIORITY_CLASSES - 1; c >= cls && !fits(); c--) {
      const list = this.byClass[c] ?? [];
      let h = this.heads[c] ?? 0;
      while (!fits() && h < list.length) {
        const r = list[h];
        if (r && r.state === 'live') {
          this.drop(r, 'evicted');
          this.countEviction(c, r.epoch, r.seq);
          if (r.carries) this.settleEvictions(r.carries, 1, r);
          this.hooks.onEvict?.(r);
        } else if (r && r.state === 'pending') {
          // Being written right now: everything after it is newer still; skip this class.
          break;
        }
        h++;
      }
      this.heads[c] = h;
      if (h > 4096 && h > list.length / 2) {
        list.splice(0, h);
        this.heads[c] = 0;
      }
    }
    return fits();
  }

  private logEntries(entries: AckEntry[]): void {
    const bytes = encodeAckEntries(entries);
    this.ackLogBytes += bytes.length;
    this.ackChain = this.ackChain
      .then(() => this.ackLog.write(bytes))
      .then(
        () => undefined,
        () => undefined,
      );
    if (this.ackLogBytes > ACK_LOG_COMPACT_BYTES && !this.compacting) {
      this.compacting = true;
      this.ackChain = this.ackChain
        .then(() => this.compactAckLog())
        .then(
          () => undefined,
          () => undefined,
        );
    }
  }

  /**
   * Rewrites the ack log with what a restart needs: the seq high-water mark, owed eviction counts,
   * the counts live records carry, and tombstones for dead records still inside a segment. Runs in
   * the log's write chain, so every entry chained later lands in the new file.
   */
  private async compactAckLog(): Promise<void> {
    try {
      const keep: AckEntry[] = [];
      // What is on disk, not what was handed out: a seq of a record never written may be used again
      // (nobody saw it), and a torn group's carrier must stay above every high-water mark.
      const epochsLeft = new Set([this.epoch, ...this.segments.flatMap((sg) => sg.records.map((r) => r.epoch))]);
      for (const [e, seq] of this.written)
        if (epochsLeft.has(e)) keep.push({ kind: AckEntryKind.highWater, priorityClass: 0, count: 0, epoch: e, seq });
      this.unreported.forEach((n, cls) => keep.push(...countEntries(AckEntryKind.unreported, cls, n)));
      for (const seg of this.segments) {
        for (const r of seg.records) {
          if (r.state === 'acked' || r.state === 'evicted')
            keep.push({ kind: AckEntryKind.ack, priorityClass: r.priorityClass, count: 0, epoch: r.epoch, seq: r.seq });
          else r.carries?.forEach((n, cls) => keep.push(...countEntries(AckEntryKind.carried, cls, n, r.epoch, r.seq)));
        }
      }
      for (const p of this.pending)
        p.rec.carries?.forEach((n, cls) =>
          keep.push(...countEntries(AckEntryKind.carried, cls, n, p.rec.epoch, p.rec.seq)),
        );
      const bytes = encodeAckEntries(keep);
      const file = path.join(this.opts.dir, ACK_LOG);
      await writeFileDurably(file, bytes);
      const old = this.ackLog;
      this.ackLog = await open(file, 'a');
      this.ackLogBytes = bytes.length;
      await old.close();
    } finally {
      this.compacting = false;
    }
  }

  private kick(): void {
    if (this.flushing) return;
    // Started on the next turn, so appends made in the same turn share the first write and fdatasync.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushLoop())
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.kick();
      });
  }

  private async flushLoop(): Promise<void> {
    do {
      const batch = this.pending;
      this.pending = [];
      // A carrier whose cursor goes ahead in its own file ends its write: that file is on disk
      // before the group and renamed after it, so no other group may share the write.
      let from = 0;
      for (let i = 0; i < batch.length; i++) {
        if ((batch[i] as PendingWrite).cursor?.ahead !== true && i < batch.length - 1) continue;
        await this.flushChunk(batch.slice(from, i + 1));
        from = i + 1;
      }
    } while (this.pending.length > 0);
  }

  private async flushChunk(batch: PendingWrite[]): Promise<void> {
    const last = batch[batch.length - 1] as PendingWrite;
    const ahead =
      last.cursor?.ahead === true ? { ...last.cursor, epoch: last.rec.epoch, seq: last.rec.seq } : undefined;
    try {
      await this.reclaim(batch.reduce((n, p) => n + p.bytes.length, 0));
      if (ahead) await this.makingSpace(() => writeCursorFile(this.opts.dir, ahead.generation, ahead.bytes, ahead));
      await this.makingSpace(() => this.writeBatch(batch));
    } catch (err) {
      // Its carrier is not on disk: the file must not be taken for a cursor at the next open.
      if (ahead) await removeAheadCursor(this.opts.dir, aheadFile(ahead.epoch, ahead.seq)).catch(() => undefined);
      this.refuse(batch, err);
      return;
    }
    // When the rename fails, the cursor stays its carrier's (writeBatch made it so), as one carried
    // in the record is: kept before that segment goes (keepCursor), taken from its file at the next open.
    if (
      ahead !== undefined &&
      (await promoteAheadCursor(this.opts.dir, ahead.epoch, ahead.seq).then(
        () => true,
        () => false,
      ))
    ) {
      const c = this.cursorState;
      if (c?.generation === ahead.generation) {
        c.segment = undefined;
        c.persisted = true;
      }
    }
    for (const p of batch) p.resolve(p.rec);
  }

  /** A write that failed: its records were never on disk, so never sent. */
  private refuse(batch: PendingWrite[], err: unknown): void {
    const full = isDiskFull(err);
    const e =
      err instanceof CollectorError
        ? err
        : full
          ? new CollectorError('ET_ERR_DISK_FULL', `${this.opts.dir}: ${batch.length} records not written`)
          : new CollectorError('ET_ERR_OUTBOX_IO', (err as Error).message);
    for (const p of batch) {
      if (p.rec.state === 'pending') {
        this.drop(p.rec, 'evicted');
        // Counted like an eviction, so the next batch tells the centre.
        this.countEviction(p.rec.priorityClass, p.rec.epoch, p.rec.seq);
        if (full) this.diskFullRefused++;
        if (p.rec.carries) this.settleEvictions(p.rec.carries, 1, p.rec);
      }
      p.reject(e);
    }
  }

  /**
   * Runs a write; on a full disk asks the other user of the volume (the store) for space, then
   * frees its own dead bytes, and tries again while either freed something.
   */
  private async makingSpace(write: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await write();
        return;
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        this.diskFullWrites++;
        const before = this.diskBytes;
        if (await (this.hooks.freeSpace?.() ?? Promise.resolve(false))) continue;
        // Acknowledged or evicted records still on disk: deleting whole dead segments needs no space.
        await this.reclaim(0).catch(() => undefined);
        if (this.diskBytes < before) continue;
        throw err;
      }
    }
  }

  private async writeBatch(batch: PendingWrite[]): Promise<void> {
    if (batch.length === 0) return;
    let seg = await this.activeSegment();
    if (seg.seg.size >= this.opts.segmentBytes) seg = await this.roll();
    const buf = batch.length === 1 ? (batch[0] as PendingWrite).bytes : Buffer.concat(batch.map((p) => p.bytes));
    let offset = seg.seg.size;
    try {
      const { bytesWritten } = await seg.fh.write(buf, 0, buf.length);
      if (bytesWritten !== buf.length) throw shortWriteError(bytesWritten, buf.length);
      await seg.fh.datasync();
    } catch (err) {
      // Whatever reached the file (a full disk writes part of it) is cut off again, so the segment
      // stays whole and the next open finds nothing torn; when even that fails, the stretch is
      // counted and left for the next open to cut, and a fresh segment is started.
      const cut = await seg.fh.truncate(seg.seg.size).then(
        () => seg.fh.datasync(),
        () => false as const,
      );
      if (cut === false) {
        const size = await seg.fh.stat().then(
          (st) => st.size,
          () => seg.seg.size,
        );
        this.diskBytes += size - seg.seg.size;
        seg.seg.size = size;
        await this.roll().catch(() => undefined);
      }
      throw err;
    }
    seg.seg.size += buf.length;
    this.diskBytes += buf.length;
    for (const p of batch) {
      p.rec.segment = seg.seg;
      p.rec.offset = offset;
      offset += p.rec.size;
      seg.seg.records.push(p.rec);
      if (p.rec.state === 'pending') {
        p.rec.state = 'live';
        seg.seg.live++;
      }
      this.written.set(p.rec.epoch, Math.max(this.written.get(p.rec.epoch) ?? -1, p.rec.seq));
      const c = p.cursor;
      if (c !== undefined && c.generation > (this.cursorState?.generation ?? 0))
        this.cursorState = { generation: c.generation, bytes: c.bytes, segment: seg.seg, persisted: false };
    }
  }

  private async activeSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    if (this.active) return this.active;
    const id = this.nextSegmentId++;
    const file = path.join(this.opts.dir, `${String(id).padStart(10, '0')}.seg`);
    const fh = await open(file, 'a');
    await syncDir(this.opts.dir);
    const seg: Segment = { id, file, size: 0, records: [], live: 0, reader: undefined };
    this.segments.push(seg);
    this.active = { seg, fh };
    return this.active;
  }

  private async roll(): Promise<{ seg: Segment; fh: FileHandle }> {
    const old = this.active;
    this.active = undefined;
    if (old) await old.fh.close();
    return this.activeSegment();
  }

  /**
   * Frees disk: deletes segments with no live record, and while the segment files plus `incoming`
   * bytes exceed the cap, rewrites the segment holding the most dead bytes.
   */
  private async reclaim(incoming: number): Promise<void> {
    let deadSegments = this.segments.filter((s) => s.live === 0 && s !== this.active?.seg);
    // The record carrying the newest cursor may go only once the cursor file has it.
    const carrier = this.cursorState?.segment;
    if (carrier !== undefined && deadSegments.includes(carrier) && !(await this.keepCursor()))
      deadSegments = deadSegments.filter((s) => s !== carrier);
    if (deadSegments.length > 0) {
      await this.syncAckLog();
      for (const s of deadSegments) {
        await closeReader(s);
        await unlink(s.file);
        this.diskBytes -= s.size;
        this.segments.splice(this.segments.indexOf(s), 1);
      }
    }
    while (this.diskBytes + incoming > this.opts.capBytes) {
      let worst: Segment | undefined;
      let worstDead = 0;
      for (const s of this.segments) {
        const dead = s.size - s.records.reduce((n, r) => n + (r.state === 'live' ? r.size : 0), 0);
        if (dead > worstDead) {
          worst = s;
          worstDead = dead;
        }
      }
      if (!worst) return;
      if (worst === this.cursorState?.segment && !(await this.keepCursor())) return;
      if (worst === this.active?.seg) await this.roll();
      await this.syncAckLog();
      const before = worst.size;
      await closeReader(worst);
      if (worst.live === 0) {
        await unlink(worst.file);
        this.segments.splice(this.segments.indexOf(worst), 1);
        this.diskBytes -= before;
      } else {
        await rewriteSegment(worst, await readFile(worst.file));
        this.diskBytes -= before - worst.size;
      }
    }
  }

  /** Writes the newest cursor to its state file, if not done yet; false when that failed (e.g. a full disk). */
  private async keepCursor(): Promise<boolean> {
    const c = this.cursorState;
    if (c === undefined || c.persisted) return true;
    try {
      await writeCursorFile(this.opts.dir, c.generation, c.bytes);
    } catch {
      return false;
    }
    c.persisted = true;
    c.segment = undefined;
    return true;
  }

  private async syncAckLog(): Promise<void> {
    await this.ackChain;
    await this.ackLog.datasync();
  }
}

async function closeReader(seg: Segment): Promise<void> {
  const r = seg.reader;
  seg.reader = undefined;
  if (r) await r.then((fh) => fh.close()).catch(() => undefined);
}

/** Rewrites a segment with only its live records (tmp + fsync + rename), updating their offsets. */
async function rewriteSegment(seg: Segment, buf: Buffer): Promise<void> {
  const live = seg.records.filter((r) => r.state === 'live');
  const out = Buffer.allocUnsafe(live.reduce((n, r) => n + r.size, 0));
  let at = 0;
  const offsets: number[] = [];
  for (const r of live) {
    buf.copy(out, at, r.offset, r.offset + r.size);
    offsets.push(at);
    at += r.size;
  }
  const tmp = `${seg.file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(out);
    await fh.datasync();
  } catch (err) {
    // A full disk: the partial copy goes, the segment stays as it was.
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, seg.file);
  await syncDir(path.dirname(seg.file));
  void closeReader(seg);
  live.forEach((r, i) => (r.offset = offsets[i] ?? 0));
  seg.records = live;
  seg.size = out.length;
}

/** Bytes the outbox directory holds in segment files (for tests and the health section). */
export async function segmentBytesOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (SEGMENT_RE.test(name)) total += (await stat(path.join(dir, name))).size;
  return total;
}
