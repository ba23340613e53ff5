import { randomBytes } from 'node:crypto';
import { createBatchCodec, type Batch } from '@edge-telemetry/protocol';
import { idleHealth } from '@edge-telemetry/protocol/testing';
import { describe, expect, it } from 'vitest';
import { ReferenceBook } from './references.js';

const codec = createBatchCodec();
const EPOCH = 7;

function batch(seq: number, text = `GET /items/${seq % 5} 200 in ${seq}ms`): Batch {
  return {
    node: 'gw-1',
    epoch: EPOCH,
    seq,
    sentAt: 1_764_300_060_000 + seq,
    windowStart: 1_764_300_000_000,
    windowEnd: 1_764_300_060_000,
    containers: [
      { id: 'c1', name: 'api', image: 'nginx:1.27', state: 'running', labels: { 'com.example.tier': 'front' } },
    ],
    metrics: [],
    logs: Array.from({ length: 20 }, (_, i) => ({
      ts: 1_764_300_000_000 + i,
      container: 'api',
      level: 3 as const,
      message: `${text} worker ${i}`,
      stream: 'stderr' as const,
      repeat: 1,
      templateId: '',
      fields: {},
    })),
    templates: [],
    events: [],
    drops: [],
    health: { ...idleHealth('t'), cpuPct: 1, rssBytes: 1 },
  };
}

/** Sends batch `seq` of a class through the book (in bulk or live), acknowledges it, and says what went out. */
function send(book: ReferenceBook, seq: number, priorityClass = 1, b = batch(seq), bulk = false) {
  const standalone = codec.encode({ ...b, seq });
  const frame = book.frameFor({ epoch: EPOCH, seq, priorityClass }, standalone, bulk);
  book.acked(EPOCH, seq);
  const head = codec.head(frame);
  if (!head.ok) throw head.error;
  return { standalone, frame, refs: head.value.references, keyframe: head.value.keyframe };
}

/** Decodes a frame as the ingester does, holding the bodies of batches `seqs` as its keyframes. */
function decodeAgainst(frame: Buffer, seqs: number[]) {
  const bodies = seqs.map((seq) => codec.decodeFrame(codec.encode(batch(seq)), 'gw-1'));
  return codec.decode(
    frame,
    'gw-1',
    bodies.map((d) => (d.ok ? d.value.body : Buffer.alloc(0))),
  );
}

describe('ReferenceBook', () => {
  it('compresses against no more keyframe bytes than referenceBytes, the newest first', () => {
    const r = codec.reencode(codec.encode(batch(1)), { epoch: EPOCH, seq: 1, references: [], keyframe: true });
    if (!r.ok) throw r.error;
    // Room for two bodies and a half: zstd's working memory grows with the prefix (~20x at level 19).
    const book = new ReferenceBook(codec, {
      references: 8,
      keyframeEvery: 1,
      referenceBytes: Math.floor(r.value.body.length * 2.5),
    });
    const sent = Array.from({ length: 6 }, (_, i) => send(book, i + 1));
    expect(sent.map((s) => s.refs)).toEqual([[], [1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    expect(sent.slice(1).every((s) => s.frame.length < s.standalone.length)).toBe(true);
  });

  it("keeps the template counts' keyframes a sample batch borrows when referenceBytes bites: its own oldest give way", () => {
    const r = codec.reencode(codec.encode(batch(1)), { epoch: EPOCH, seq: 1, references: [], keyframe: true });
    if (!r.ok) throw r.error;
    // Room for three bodies and a half: the two borrowed and the class's newest one.
    const book = new ReferenceBook(codec, {
      references: 8,
      keyframeEvery: 1,
      referenceBytes: Math.floor(r.value.body.length * 3.5),
    });
    for (const seq of [1, 2, 3]) send(book, seq, 2);
    expect(send(book, 4, 3).refs).toEqual([2, 3]);
    expect(send(book, 5, 3).refs).toEqual([2, 3, 4]);
    // Cut from the front of [2, 3, 4, 5] this was [3, 4, 5]: a borrowed keyframe gave way first.
    expect(send(book, 6, 3).refs).toEqual([2, 3, 5]);
    // Too little room even for both borrowed: the newest of them.
    const tight = new ReferenceBook(codec, {
      references: 8,
      keyframeEvery: 1,
      referenceBytes: r.value.body.length + 16,
    });
    for (const seq of [1, 2, 3]) send(tight, seq, 2);
    expect(send(tight, 4, 3).refs).toEqual([3]);
  });

  it('starts with a standalone keyframe, then refers to acknowledged keyframes of the class, at most `references` of them', () => {
    const book = new ReferenceBook(codec, { references: 2, keyframeEvery: 2 });
    const sent = Array.from({ length: 8 }, (_, i) => send(book, i + 1));
    expect(sent.map((s) => s.keyframe)).toEqual([true, false, true, false, true, false, true, false]);
    expect(sent.map((s) => s.refs)).toEqual([[], [1], [1], [1, 3], [1, 3], [3, 5], [3, 5], [5, 7]]);
    expect(sent.slice(1).every((s) => s.frame.length < s.standalone.length)).toBe(true);
    // Each class keeps its own keyframes.
    expect(send(book, 9, 2).refs).toEqual([]);
    expect(book.stats()).toMatchObject({ keyframes: 5, referenced: 7, unknown: 0 });
  });

  it("compresses template samples (class 3) against the template counts' (class 2) last two keyframes as well as their own", () => {
    const book = new ReferenceBook(codec, { references: 8, keyframeEvery: 1 });
    for (const seq of [1, 2, 3]) send(book, seq, 2);
    expect(send(book, 4, 3).refs).toEqual([2, 3]);
    expect(send(book, 5, 3).refs).toEqual([2, 3, 4]);
    // The other way round, and between other classes, nothing is shared.
    expect(send(book, 6, 2).refs).toEqual([1, 2, 3]);
    expect(send(book, 7, 1).refs).toEqual([]);
  });

  it('sends a backlog batch drained after an outage against the newer keyframes acknowledged meanwhile', () => {
    const book = new ReferenceBook(codec, { references: 4, keyframeEvery: 2 });
    for (const seq of [20, 21, 22]) send(book, seq);
    const old = send(book, 5);
    expect(old.refs).toEqual([20, 22]);
    expect(old.frame.length).toBeLessThan(old.standalone.length);
  });

  it("compresses a frame that leaves in bulk against only its class's newest `bulk.references` keyframes, with its own codec", () => {
    const bulkCodec = createBatchCodec({ referenceLevel: 3 });
    const book = new ReferenceBook(codec, { references: 8, keyframeEvery: 1 }, { codec: bulkCodec, references: 2 });
    for (const seq of [1, 2, 3, 4]) send(book, seq, 2);
    const bulk = send(book, 5, 2, batch(5), true);
    expect(bulk.refs).toEqual([3, 4]);
    expect(bulk.frame.length).toBeLessThan(bulk.standalone.length);
    // Decodes against those two bodies.
    const decoded = decodeAgainst(bulk.frame, [3, 4]);
    expect(decoded.ok && decoded.value.seq).toBe(5);
    // Live frames use every kept live keyframe, not the bulk one (5); a bulk frame's template
    // samples borrow the counts' last two of either kind.
    expect(send(book, 6, 2).refs).toEqual([1, 2, 3, 4]);
    expect(send(book, 7, 3, batch(7), true).refs).toEqual([5, 6]);
  });

  it("compresses a live frame against live keyframes only, while a backlog's keyframes go on in bulk", () => {
    const bulkCodec = createBatchCodec({ referenceLevel: 3 });
    const book = new ReferenceBook(codec, { references: 4, keyframeEvery: 2 }, { codec: bulkCodec, references: 2 });
    // Live frames before the backlog: keyframes 1 and 3.
    for (const seq of [1, 2, 3]) send(book, seq, 2);
    // A backlog drains: its frames take turns as keyframes of their own kind (10, 12, 14) and
    // are compressed against the newest two of either kind.
    const drained = [10, 11, 12, 13, 14].map((seq) => send(book, seq, 2, batch(seq), true));
    expect(drained.map((d) => d.keyframe)).toEqual([true, false, true, false, true]);
    expect(drained.map((d) => d.refs)).toEqual([
      [1, 3],
      [3, 10],
      [3, 10],
      [10, 12],
      [10, 12],
    ]);
    // A live frame meanwhile: against live keyframes alone, and the live turn goes on (3 was one, 20 is not).
    const live = send(book, 20, 2);
    expect(live).toMatchObject({ refs: [1, 3], keyframe: false });
    expect(send(book, 21, 2)).toMatchObject({ refs: [1, 3], keyframe: true });
    expect(send(book, 22, 2).refs).toEqual([1, 3, 21]);
    // The ingester holds every keyframe, bulk or live: the live frame decodes against its own.
    const decoded = decodeAgainst(live.frame, [1, 3]);
    expect(decoded.ok && decoded.value.seq).toBe(20);
  });

  it('uses a keyframe only once it is acknowledged', () => {
    const book = new ReferenceBook(codec, { references: 8, keyframeEvery: 4 });
    book.frameFor({ epoch: EPOCH, seq: 1, priorityClass: 0 }, codec.encode(batch(1)));
    expect(send(book, 2, 0).refs).toEqual([]);
    book.acked(EPOCH, 1);
    expect(send(book, 3, 0).refs).toEqual([1, 2]);
  });

  it('after an unknown reference, starts again from a standalone keyframe', () => {
    const book = new ReferenceBook(codec, { references: 8, keyframeEvery: 4 });
    send(book, 1);
    expect(send(book, 2).refs).toEqual([1]);
    book.unknownReference();
    expect(send(book, 3)).toMatchObject({ refs: [], keyframe: true });
    expect(book.stats().unknown).toBe(1);
  });

  it('sends standalone when references are off, or when a batch would come out larger against them', () => {
    const off = new ReferenceBook(codec, { references: 0, keyframeEvery: 4 });
    const plain = codec.encode(batch(1));
    expect(off.frameFor({ epoch: EPOCH, seq: 1, priorityClass: 1 }, plain)).toBe(plain);
    // A reference level far weaker than the standalone one makes the frame against references the larger.
    const weak = createBatchCodec({ level: 19, referenceLevel: -7 });
    const book = new ReferenceBook(weak, { references: 8, keyframeEvery: 100 });
    const first = weak.encode(batch(1, randomBytes(200).toString('hex')));
    book.frameFor({ epoch: EPOCH, seq: 1, priorityClass: 1 }, first);
    book.acked(EPOCH, 1);
    const standalone = weak.encode(batch(2));
    const body = weak.reencode(first, { epoch: EPOCH, seq: 1, references: [], keyframe: true });
    const against =
      body.ok &&
      weak.reencode(standalone, {
        epoch: EPOCH,
        seq: 2,
        references: [{ seq: 1, body: body.value.body }],
        keyframe: false,
      });
    expect(against && against.ok && against.value.frame.length).toBeGreaterThan(standalone.length);
    expect(book.frameFor({ epoch: EPOCH, seq: 2, priorityClass: 1 }, standalone)).toEqual(standalone);
  });
});
