import { mkdtemp, readdir, readFile, rm, truncate, writeFile, appendFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stillReachable } from '../../../../../test/support/gc.js';
import { Outbox, segmentBytesOnDisk, type CutReport, type OutboxRecord } from './outbox.js';
import { RECORD_HEADER_BYTES } from './record.js';
import type { OutboxOptions } from './options.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opts = (o: Partial<OutboxOptions> = {}): OutboxOptions => ({
  dir,
  capBytes: 1 << 20,
  recordCapBytes: 64 * 1024,
  segmentBytes: 1 << 20,
  ...o,
});
const payload = (seq: number, size = 100): Buffer => Buffer.alloc(size, seq % 251);

async function appendN(box: Outbox, n: number, cls = 0, size = 100): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const seq = box.nextSeq();
    await box.append({ epoch: box.epoch, seq, priorityClass: cls, createdAt: 1000 + seq, payload: payload(seq, size) });
    seqs.push(seq);
  }
  return seqs;
}

function flip(buf: Buffer, at: number, mask: number): void {
  buf.writeUInt8(buf.readUInt8(at) ^ mask, at);
}

async function onlySegment(): Promise<string> {
  const segs = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
  expect(segs).toHaveLength(1);
  return path.join(dir, segs[0] as string);
}

describe('Outbox', () => {
  it('keeps unacknowledged records across a restart and reads their payloads back', async () => {
    const box = await Outbox.open(opts());
    const seqs = await appendN(box, 10);
    for (const s of seqs.slice(0, 3)) expect(box.ack(box.epoch, s)).toBe(true);
    expect(box.ack(box.epoch, seqs[0] as number)).toBe(false);
    const epoch = box.epoch;
    await box.close();

    const again = await Outbox.open(opts());
    expect(again.epoch).toBe(epoch);
    const left = again.unacked();
    expect(left.map((r) => r.seq)).toEqual(seqs.slice(3));
    for (const r of left) expect(await again.read(r)).toEqual(payload(r.seq));
    expect(again.nextSeq()).toBe(10);
    await again.close();
  });

  it('group-commits concurrent appends and loses none of them', async () => {
    const box = await Outbox.open(opts());
    const all = await Promise.all(
      Array.from({ length: 200 }, () => {
        const seq = box.nextSeq();
        return box.append({
          epoch: box.epoch,
          seq,
          priorityClass: seq % 4,
          createdAt: seq,
          payload: payload(seq, 50 + seq),
        });
      }),
    );
    expect(all.map((r) => r.state)).toEqual(new Array(200).fill('live'));
    await box.close();
    const again = await Outbox.open(opts());
    const left = again.unacked();
    expect(left.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const r of left) expect(await again.read(r)).toEqual(payload(r.seq, 50 + r.seq));
    await again.close();
  });

  it('never reuses a seq, even after every segment was acknowledged and deleted', async () => {
    const box = await Outbox.open(opts({ segmentBytes: 4096 }));
    const seqs = await appendN(box, 100);
    for (const s of seqs) box.ack(box.epoch, s);
    await appendN(box, 1); // rolls past the fully acknowledged segments, which are then deleted
    box.ack(box.epoch, 100);
    await box.close();
    const again = await Outbox.open(opts({ segmentBytes: 4096 }));
    expect(again.unacked()).toHaveLength(0);
    expect(await segmentBytesOnDisk(dir)).toBe(0);
    expect(again.nextSeq()).toBe(101);
    await again.close();
  });

  it('cuts a torn tail, reports it, and carries on appending', async () => {
    const box = await Outbox.open(opts());
    await appendN(box, 5);
    const epoch = box.epoch;
    await box.close();
    const seg = await onlySegment();
    const size = (await stat(seg)).size;
    await truncate(seg, size - 10);

    const cuts: CutReport[] = [];
    const again = await Outbox.open(opts(), { onCut: (c) => cuts.push(c) });
    expect(cuts).toEqual([{ file: path.basename(seg), bytes: RECORD_HEADER_BYTES + 100 - 10, ranges: 1, kept: 4 }]);
    expect(again.stats().cutBytes).toBe(RECORD_HEADER_BYTES + 90);
    expect(again.unacked().map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    // The cut record's seq is unknown now: a new epoch keeps it from being reused.
    expect(again.epoch).not.toBe(epoch);
    expect(again.unacked().every((r) => r.epoch === epoch)).toBe(true);
    expect(again.nextSeq()).toBe(0);
    await again.append({ epoch: again.epoch, seq: 0, priorityClass: 0, createdAt: 0, payload: payload(0) });
    await again.close();

    const cuts2: CutReport[] = [];
    const third = await Outbox.open(opts(), { onCut: (c) => cuts2.push(c) });
    expect(cuts2).toEqual([]);
    expect(third.epoch).toBe(again.epoch);
    expect(third.unacked().map((r) => `${r.epoch === epoch ? 'old' : 'new'}/${r.seq}`)).toEqual([
      'old/0',
      'old/1',
      'old/2',
      'old/3',
      'new/0',
    ]);
    expect(third.nextSeq()).toBe(1);
    await third.close();
  });

  it('skips a record with flipped bytes and keeps the records after it', async () => {
    const box = await Outbox.open(opts());
    await appendN(box, 5);
    await box.close();
    const seg = await onlySegment();
    const buf = await readFile(seg);
    const rec = RECORD_HEADER_BYTES + 100;
    flip(buf, 2 * rec + RECORD_HEADER_BYTES + 7, 0xff); // a payload byte of record 2
    flip(buf, 3 * rec + 20, 0x01); // the seq field of record 3 (header covered by the CRC)
    await writeFile(seg, buf);

    const cuts: CutReport[] = [];
    const again = await Outbox.open(opts(), { onCut: (c) => cuts.push(c) });
    expect(cuts).toEqual([{ file: path.basename(seg), bytes: 2 * rec, ranges: 1, kept: 3 }]);
    const left = again.unacked();
    expect(left.map((r) => r.seq)).toEqual([0, 1, 4]);
    for (const r of left) expect(await again.read(r)).toEqual(payload(r.seq));
    await again.close();
  });

  it('opens on garbage segments and a garbage ack log without wedging', async () => {
    const box = await Outbox.open(opts());
    await appendN(box, 3);
    await box.close();
    await writeFile(path.join(dir, '0000000099.seg'), Buffer.from('not an outbox segment at all, just bytes'));
    await appendFile(path.join(dir, 'acks.log'), Buffer.from('torn'));
    const cuts: CutReport[] = [];
    const again = await Outbox.open(opts(), { onCut: (c) => cuts.push(c) });
    expect(cuts.map((c) => c.file).sort()).toEqual(['0000000099.seg', 'acks.log']);
    expect(again.unacked().map((r) => r.seq)).toEqual([0, 1, 2]);
    await appendN(again, 1);
    await again.close();
    expect((await readdir(dir)).includes('0000000099.seg')).toBe(false);
  });

  it('keeps its epoch, and takes a new one when the epoch file is lost or corrupt', async () => {
    const a = await Outbox.open(opts());
    const e1 = a.epoch;
    await a.close();
    const b = await Outbox.open(opts());
    expect(b.epoch).toBe(e1);
    await b.close();
    await writeFile(path.join(dir, 'epoch'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    const c = await Outbox.open(opts());
    expect(c.epoch).not.toBe(e1);
    expect(c.nextSeq()).toBe(0);
    await c.close();
  });

  it('refuses a record over the record cap', async () => {
    const box = await Outbox.open(opts({ recordCapBytes: 1024 }));
    await expect(
      box.append({ epoch: box.epoch, seq: 0, priorityClass: 0, createdAt: 0, payload: Buffer.alloc(1025) }),
    ).rejects.toMatchObject({ code: 'ET_ERR_RECORD_TOO_LARGE' });
    await box.close();
  });

  it('evicts the least valuable class first, oldest first, and counts every eviction by class', async () => {
    const rec = RECORD_HEADER_BYTES + 1000;
    const box = await Outbox.open(opts({ capBytes: 8 * rec, segmentBytes: 2 * rec }));
    // 2 of each class: 8 records fill the cap exactly.
    const byClass: number[][] = [[], [], [], []];
    for (const cls of [3, 2, 1, 0, 3, 2, 1, 0]) byClass[cls]?.push(...(await appendN(box, 1, cls, 1000)));
    expect(box.stats().evicted).toEqual([0, 0, 0, 0]);
    // 3 more summaries: class 3 goes first (oldest first), then the oldest template.
    await appendN(box, 3, 0, 1000);
    expect(box.stats().evicted).toEqual([0, 0, 1, 2]);
    const left = box.unacked();
    const gone = [byClass[3]?.[0], byClass[3]?.[1], byClass[2]?.[0]];
    for (const s of gone) expect(left.some((r) => r.seq === s)).toBe(false);
    expect(left).toHaveLength(8);
    expect(await segmentBytesOnDisk(dir)).toBeLessThanOrEqual(8 * rec);
    // An info sample when only more valuable records remain: refused and counted as its own class.
    await expect(
      box.append({ epoch: box.epoch, seq: box.nextSeq(), priorityClass: 3, createdAt: 0, payload: Buffer.alloc(1000) }),
    ).rejects.toMatchObject({ code: 'ET_ERR_OUTBOX_FULL' });
    expect(box.stats().evicted).toEqual([0, 0, 1, 3]);
    await box.close();

    // Unreported evictions survive a restart; once a record carries them they are settled...
    const again = await Outbox.open(opts({ capBytes: 8 * rec, segmentBytes: 2 * rec }));
    expect(again.unreportedEvictions()).toEqual([0, 0, 1, 3]);
    const carrier = again.nextSeq();
    await again.append({
      epoch: again.epoch,
      seq: carrier,
      priorityClass: 1,
      createdAt: 0,
      payload: Buffer.alloc(1000),
      carries: again.unreportedEvictions(),
    });
    // (making room for the carrier evicted the remaining template: that one is new and unreported)
    expect(again.unreportedEvictions()).toEqual([0, 0, 1, 0]);
    await again.close();
    const third = await Outbox.open(opts({ capBytes: 8 * rec, segmentBytes: 2 * rec }));
    expect(third.unreportedEvictions()).toEqual([0, 0, 1, 0]);
    expect(third.unacked()).toHaveLength(8);
    // ...and owed again when the record carrying them is evicted: 8 summaries push out the three
    // class-1 records (the carrier among them) and the five oldest summaries.
    for (let i = 0; i < 8; i++) await appendN(third, 1, 0, 1000);
    expect(third.unacked().some((r) => r.seq === carrier)).toBe(false);
    expect(third.unreportedEvictions()).toEqual([5, 3, 1 + 1, 3]);
    await third.close();
  });

  it('holds the cap from what is on disk at open, not from a counter', async () => {
    const rec = RECORD_HEADER_BYTES + 1000;
    const big = await Outbox.open(opts({ capBytes: 100 * rec, segmentBytes: 4 * rec }));
    for (let i = 0; i < 10; i++) await appendN(big, 1, i % 2 === 0 ? 0 : 3, 1000);
    await big.close();
    expect(await segmentBytesOnDisk(dir)).toBe(10 * rec);

    const small = await Outbox.open(opts({ capBytes: 6 * rec, segmentBytes: 4 * rec }));
    expect(await segmentBytesOnDisk(dir)).toBeLessThanOrEqual(6 * rec);
    expect(small.stats().evicted).toEqual([0, 0, 0, 4]);
    expect(small.unacked().map((r) => r.seq)).toEqual([0, 2, 4, 6, 8, 9]);
    await small.close();
  });

  it('deletes segments whose records are all acknowledged', async () => {
    const rec = RECORD_HEADER_BYTES + 1000;
    const box = await Outbox.open(opts({ segmentBytes: 3 * rec }));
    const seqs = await appendN(box, 9, 0, 1000);
    for (const s of seqs.slice(0, 6)) box.ack(box.epoch, s);
    await appendN(box, 1, 0, 1000); // the next flush reclaims
    expect(await segmentBytesOnDisk(dir)).toBe(4 * rec);
    await box.close();
  });

  it('lets go of acknowledged records: a long run holds only the records of its live segments', async () => {
    const rec = RECORD_HEADER_BYTES + 100;
    const box = await Outbox.open(opts({ capBytes: 8 * rec, segmentBytes: 20 * rec }));
    const refs: Array<WeakRef<OutboxRecord>> = [];
    // Every class, each record acknowledged once written (a backlog's windows: ~10,000 records per 2 GiB).
    for (let i = 0; i < 2000; i++) {
      const seq = box.nextSeq();
      const r = await box.append({ epoch: box.epoch, seq, priorityClass: i % 4, createdAt: 0, payload: payload(seq) });
      refs.push(new WeakRef(r));
      expect(box.ack(box.epoch, seq)).toBe(true);
    }
    // Kept in every class's eviction list, all 2000 stayed reachable.
    // At most 128 per class wait for their list's next compaction, and a segment's 20.
    expect(await stillReachable(refs)).toBeLessThan(600);
    // Eviction still finds the oldest record of the least valuable class in the compacted lists.
    const info = await appendN(box, 8, 3);
    await appendN(box, 1, 0);
    expect(box.stats().evicted).toEqual([0, 0, 0, 1]);
    expect(box.unacked().some((r) => r.seq === info[0])).toBe(false);
    await box.close();
  });

  it('keeps the ack log bounded while running, and restarts from the compacted log', async () => {
    const box = await Outbox.open(opts({ segmentBytes: 1 << 20 }));
    // 70 000 small records in one segment, all but the last 10 acknowledged: more than 1 MiB of tombstones.
    const n = 70_000;
    for (let i = 0; i < n; i += 5000) {
      await Promise.all(
        Array.from({ length: 5000 }, () => {
          const seq = box.nextSeq();
          return box.append({ epoch: box.epoch, seq, priorityClass: 0, createdAt: 0, payload: Buffer.alloc(1) });
        }),
      );
    }
    for (let seq = 0; seq < n - 10; seq++) box.ack(box.epoch, seq);
    await box.close();
    // Uncompacted it would hold 69 990 tombstones (1.07 MiB).
    expect((await stat(path.join(dir, 'acks.log'))).size).toBeLessThan(1024 * 1024);
    const again = await Outbox.open(opts({ segmentBytes: 1 << 20 }));
    expect(again.unacked().map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => n - 10 + i));
    expect(again.nextSeq()).toBe(n);
    await again.close();
  });

  describe('groups and the cursor', () => {
    /** A group of `n` records of classes 3, 2, 1 and then 0 (the carrier), carrying `cursor`. */
    async function group(box: Outbox, n: number, cursor: string): Promise<number[]> {
      const seqs = Array.from({ length: n }, () => box.nextSeq());
      await box.appendGroup(
        seqs.map((seq, i) => ({
          epoch: box.epoch,
          seq,
          priorityClass: i === n - 1 ? 0 : 3 - (i % 3),
          createdAt: 1000 + seq,
          payload: payload(seq),
        })),
        Buffer.from(cursor),
      );
      return seqs;
    }

    it('writes a group with its cursor; the batches read back without it, the cursor survives a restart', async () => {
      const box = await Outbox.open(opts());
      expect(box.cursor()).toBeUndefined();
      const seqs = await group(box, 4, 'at-1');
      await group(box, 4, 'at-2');
      expect(box.cursor()?.toString()).toBe('at-2');
      for (const r of box.unacked()) expect(await box.read(r)).toEqual(payload(r.seq));
      await box.close();
      const again = await Outbox.open(opts());
      expect(again.cursor()?.toString()).toBe('at-2');
      expect(again.unacked().map((r) => r.seq)).toEqual([...seqs, ...seqs.map((s) => s + 4)]);
      await again.close();
    });

    it('moves the cursor for an empty group (a seal whose batches were all refused), and it survives a restart', async () => {
      const box = await Outbox.open(opts());
      const seqs = await group(box, 2, 'at-1');
      expect(await box.appendGroup([], Buffer.from('past the refused'))).toEqual([]);
      expect(box.cursor()?.toString()).toBe('past the refused');
      // No cursor, no change.
      expect(await box.appendGroup([])).toEqual([]);
      await box.close();
      const again = await Outbox.open(opts());
      expect(again.cursor()?.toString()).toBe('past the refused');
      expect(again.unacked().map((r) => r.seq)).toEqual(seqs);
      // A later group's cursor is newer again.
      await group(again, 1, 'at-2');
      await again.close();
      const third = await Outbox.open(opts());
      expect(third.cursor()?.toString()).toBe('at-2');
      await third.close();
    });

    it('keeps a cursor too large for its carrier in a file of its own instead of refusing the group', async () => {
      // The reading positions of thousands of log files: more than a record holds.
      const box = await Outbox.open(opts({ recordCapBytes: 4096 }));
      const big = 'positions '.repeat(500);
      const seqs = await group(box, 3, big);
      expect(box.unacked().map((r) => r.seq)).toEqual(seqs);
      expect(box.cursor()?.toString()).toBe(big);
      for (const r of box.unacked()) expect(await box.read(r)).toEqual(payload(r.seq));
      await box.close();
      const again = await Outbox.open(opts({ recordCapBytes: 4096 }));
      expect(again.cursor()?.toString()).toBe(big);
      expect(again.unacked().map((r) => r.seq)).toEqual(seqs);
      // A later cursor that fits rides with its group again, and is the newest.
      await group(again, 2, 'small');
      await again.close();
      const third = await Outbox.open(opts({ recordCapBytes: 4096 }));
      expect(third.cursor()?.toString()).toBe('small');
      await third.close();
    });

    it('drops a group torn by a crash as a whole, and keeps the cursor before it', async () => {
      const box = await Outbox.open(opts());
      const kept = await group(box, 4, 'before');
      await group(box, 4, 'torn');
      await box.close();
      // The crash cut the last write inside its carrier (the group's last record).
      const seg = await onlySegment();
      await truncate(seg, (await stat(seg)).size - 20);
      let orphans = 0;
      const again = await Outbox.open(opts(), { onOrphans: (n) => (orphans = n) });
      expect(orphans).toBe(3);
      expect(again.cursor()?.toString()).toBe('before');
      expect(again.unacked().map((r) => r.seq)).toEqual(kept);
      await again.close();
      // Removed from the file too: no later seq can make that group whole again.
      const third = await Outbox.open(opts(), { onOrphans: (n) => (orphans = n + 100) });
      expect(orphans).toBe(3);
      expect(third.unacked().map((r) => r.seq)).toEqual(kept);
      await third.close();
    });

    it('keeps the newest cursor when every record carrying one is acknowledged and its segment deleted', async () => {
      const box = await Outbox.open(opts({ segmentBytes: 600 }));
      for (let i = 0; i < 3; i++) for (const s of await group(box, 2, `at-${i}`)) box.ack(box.epoch, s);
      // The next append deletes the segments whose records are all gone.
      await appendN(box, 1);
      expect((await readdir(dir)).filter((n) => n.endsWith('.seg')).length).toBeLessThanOrEqual(2);
      await box.close();
      const again = await Outbox.open(opts({ segmentBytes: 600 }));
      expect(again.cursor()?.toString()).toBe('at-2');
      await again.close();
    });

    it('leaves out the least valuable members under the cap, never the carrier, and counts them', async () => {
      const box = await Outbox.open(opts({ capBytes: 4 * (RECORD_HEADER_BYTES + 100) + 50 }));
      await appendN(box, 2, 0);
      const seqs = await group(box, 4, 'capped');
      const left = box.unacked().map((r) => [r.seq, r.priorityClass]);
      expect(left).toContainEqual([seqs[3], 0]);
      expect(box.stats().evicted.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(box.cursor()?.toString()).toBe('capped');
      await box.close();
    });
  });
});
