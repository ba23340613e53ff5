/**
 * Compression against earlier batches, decided at send time. The outbox keeps every batch
 * standalone (so nothing on disk depends on anything else, and an eviction or a lost reference
 * never makes a stored batch unreadable); just before a batch is published it is re-encoded
 * against the bodies of the last acknowledged keyframes of its priority class (and, for template
 * samples, of the template counts' class).
 *
 * A keyframe is a batch the ingester keeps the body of (in ClickHouse, so any ingester of a shared
 * subscription finds it). A body is used as a reference only after its keyframe's ack, so the
 * ingester is known to hold it; should it not (data lost, TTL passed), the ingester answers
 * `resend` and the references are dropped until a new keyframe is acknowledged.
 */
import { limits, type BatchCodec, type BatchReference } from '@edge-telemetry/protocol';
import { PriorityClass } from '../../batch/priority-classes.js';
import { recordKey } from '../outbox/record.js';

/**
 * A class whose frames are also compressed against another class's latest keyframes: template
 * samples (class 3) are template rows with the same ids and texts as the counts (class 2) of the
 * same windows. Against the last two of those, class 3 took 22% fewer bytes in the reference
 * workload (bench/uplink-economy); no other pair of classes gained anything.
 */
const ALSO_AGAINST: ReadonlyMap<number, { priorityClass: number; keyframes: number }> = new Map([
  [PriorityClass.infoSamples, { priorityClass: PriorityClass.templates, keyframes: 2 }],
]);

export interface ReferenceBookOptions {
  /** Keyframes kept per class as references; 0 turns the mechanism off. */
  references: number;
  keyframeEvery: number;
  /** Most body bytes a frame is compressed against (newest first); none when undefined. */
  referenceBytes?: number;
}

/** How frames that leave in bulk are re-encoded: their codec, and how many of their class's keyframes they are compressed against. */
export interface BulkEncoding {
  codec: BatchCodec;
  references: number;
}

export interface ReferenceStats {
  /** Frames sent against references, keyframes sent, and `resend` answers received. */
  referenced: number;
  keyframes: number;
  unknown: number;
}

interface Pending {
  priorityClass: number;
  /** Sent in bulk (its body one of a backlog's windows). */
  bulk: boolean;
  ref: BatchReference;
}

export class ReferenceBook {
  /**
   * Per `${epoch}/${class}/${live|bulk}`: acknowledged keyframe bodies, oldest first. Live frames
   * are compressed against live keyframes only: a backlog's keyframes are large and unlike a live
   * window (a minute of past lines each), and zstd at level 19 against up to referenceBytes of
   * them took ~0.3 CPU-s per live frame, ~7 % of the collector's CPU over the 200 MiB backlog
   * (perf of the bin in its 128 MiB / 0.2 CPU cgroup), for frames of a few KB.
   */
  private readonly refs = new Map<string, BatchReference[]>();
  /** Frames since the last keyframe, per `${class}/${live|bulk}` (each kind keeps its own keyframes coming). */
  private readonly sinceKeyframe = new Map<string, number>();
  /** Keyframes sent and not yet acknowledged, by recordKey. */
  private readonly pending = new Map<string, Pending>();
  private readonly s: ReferenceStats = { referenced: 0, keyframes: 0, unknown: 0 };

  /**
   * `bulk` re-encodes the frames that leave in bulk (a backlog drained after a restart or an
   * outage: hundreds at once on a fifth of a core, where zstd level 19 against a prefix of 12
   * keyframes took half the collector's CPU over a 20 MiB backlog); `codec` the live ones (a few
   * per window, where every byte of metered uplink counts).
   */
  constructor(
    private readonly codec: BatchCodec,
    private readonly o: ReferenceBookOptions,
    private readonly bulk: BulkEncoding = { codec, references: o.references },
  ) {}

  /** The frame to publish for a standalone frame from the outbox. */
  frameFor(rec: { epoch: number; seq: number; priorityClass: number }, standalone: Buffer, bulk = false): Buffer {
    if (this.o.references === 0) return standalone;
    const own = this.keyframesOf(rec.epoch, rec.priorityClass, bulk);
    const also = ALSO_AGAINST.get(rec.priorityClass);
    const borrowed = also ? this.keyframesOf(rec.epoch, also.priorityClass, bulk).slice(-also.keyframes) : [];
    // Under both bounds, the codec's count (maxBatchReferences) and referenceBytes, the class's own
    // oldest give way, never the borrowed: those were picked for what they save (ALSO_AGAINST).
    const ownCount = Math.min(bulk ? this.bulk.references : own.length, limits.maxBatchReferences - borrowed.length);
    const references = withinBytes(
      borrowed,
      ownCount > 0 ? own.slice(-ownCount) : [],
      this.o.referenceBytes ?? Infinity,
    );
    const kind = `${rec.priorityClass}/${bulk ? 'bulk' : 'live'}`;
    const since = this.sinceKeyframe.get(kind) ?? this.o.keyframeEvery;
    const keyframe = own.length === 0 || since + 1 >= this.o.keyframeEvery;
    const r = (bulk ? this.bulk.codec : this.codec).reencode(standalone, {
      epoch: rec.epoch,
      seq: rec.seq,
      references,
      keyframe,
    });
    // Our own frames always re-encode; should one not, or come out larger (content unlike any
    // reference), it goes standalone and is no keyframe. (A keyframe without references is the
    // standalone frame with one more flag bit: never larger.)
    if (!r.ok || r.value.frame.length > standalone.length) return standalone;
    if (keyframe) {
      this.pending.set(recordKey(rec.epoch, rec.seq), {
        priorityClass: rec.priorityClass,
        bulk,
        ref: { seq: rec.seq, body: r.value.body },
      });
      this.sinceKeyframe.set(kind, 0);
      this.s.keyframes++;
    } else this.sinceKeyframe.set(kind, since + 1);
    if (references.length > 0) this.s.referenced++;
    return r.value.frame;
  }

  /** An acknowledged keyframe becomes the newest reference of its class. */
  acked(epoch: number, seq: number): void {
    const k = recordKey(epoch, seq);
    const p = this.pending.get(k);
    if (p === undefined) return;
    this.pending.delete(k);
    const key = `${epoch}/${p.priorityClass}/${p.bulk ? 'bulk' : 'live'}`;
    const list = (this.refs.get(key) ?? []).filter((r) => r.seq !== seq);
    list.push(p.ref);
    list.sort((a, b) => a.seq - b.seq);
    // Of the bulk kind only as many as a frame may take of them: they are the large ones.
    const kept = p.bulk
      ? Math.max(this.bulk.references, ...[...ALSO_AGAINST.values()].map((a) => a.keyframes))
      : this.o.references;
    this.refs.set(key, list.slice(-Math.min(kept, this.o.references)));
  }

  /**
   * The acknowledged keyframes a frame of `priorityClass` may be compressed against, oldest first:
   * a live frame the live ones; a bulk frame the newest of either kind (the bulk encoding's level
   * is cheap whatever the prefix, and during a backlog its own kind is the likeliest to match).
   */
  private keyframesOf(epoch: number, priorityClass: number, bulk: boolean): BatchReference[] {
    const live = this.refs.get(`${epoch}/${priorityClass}/live`) ?? [];
    if (!bulk) return live;
    return [...live, ...(this.refs.get(`${epoch}/${priorityClass}/bulk`) ?? [])].sort((a, b) => a.seq - b.seq);
  }

  /** The ingester lacked a reference: start again from standalone keyframes. */
  unknownReference(): void {
    this.s.unknown++;
    this.refs.clear();
    this.sinceKeyframe.clear();
  }

  /** A new connection: keyframes in flight are sent again (and re-registered) if still unacknowledged. */
  resetSession(): void {
    this.pending.clear();
  }

  stats(): ReferenceStats {
    return { ...this.s };
  }
}

/**
 * The borrowed references, then the class's own, each newest first, whose bodies add up to at
 * most `bytes` (zstd's working memory grows with the prefix: sender option referenceBytes; the
 * newest keyframes are the likeliest to match), in their order: borrowed, then own.
 */
function withinBytes(borrowed: BatchReference[], own: BatchReference[], bytes: number): BatchReference[] {
  let left = bytes;
  const newest = (list: BatchReference[]): BatchReference[] => {
    let from = list.length;
    while (from > 0 && (list[from - 1] as BatchReference).body.length <= left)
      left -= (list[--from] as BatchReference).body.length;
    return list.slice(from);
  };
  const keptBorrowed = newest(borrowed);
  return [...keptBorrowed, ...newest(own)];
}
