import { Type, type Static } from '@sinclair/typebox';

export const SenderOptionsSchema = Type.Object({
  /** Batches published and not yet acknowledged end to end; bounds broker queueing and resend bursts. */
  window: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 32,
    description: 'Outstanding (published, unacknowledged) batches.',
  }),
  /** After this long at most without the ingester's ack, the batch is published again. */
  ackTimeoutMs: Type.Integer({
    minimum: 100,
    default: 60_000,
    description:
      'Resend a batch not acknowledged within this time at most; once acks were measured, within the time they take (see minAckTimeoutMs). Each timeout doubles the timeout in force (up to 4x this) until an ack arrives.',
  }),
  /** The least ack timeout once acks were measured (uplink/sender/ack-timeout.ts). */
  minAckTimeoutMs: Type.Integer({
    minimum: 100,
    default: 5000,
    description:
      "Least ack timeout: once acks were measured, a batch the broker took (PUBACK) is resent after the smoothed ack time plus 4x its deviation (as TCP's retransmission timeout), not less than this nor more than ackTimeoutMs; its upload before the PUBACK is bounded by ackTimeoutMs alone.",
  }),
  /** The horizon over which the backlog must drain within the budget before degrading. */
  drainHorizonMs: Type.Integer({
    minimum: 1000,
    default: 6 * 3_600_000,
    description: 'Degrade when backlog + live stream cannot drain within the budget over this horizon.',
  }),
  /**
   * Compression against earlier batches (the frame's references): each batch of a priority class is compressed
   * against the bodies of the last acknowledged keyframes of that class, which the ingester kept.
   * Defaults measured on the reference workload (bench/README.md): 12 references to every 2nd
   * batch gave 56.5x raw at 37 ms of CPU per batch, against 51.3x for 8 to every 4th and 56.8x
   * for 16 to every 2nd (40 ms, and more for the ingester to hold).
   */
  references: Type.Integer({
    minimum: 0,
    maximum: 16,
    default: 12,
    description:
      "Acknowledged keyframes of the same priority class each batch is compressed against (template samples also against the template counts' last two; 0 = every batch standalone).",
  }),
  /**
   * zstd's working memory at referenceLevel 19 grows with the prefix it compresses against, ~20x
   * its bytes (measured: 200 KB of references took 4.5 MB and 0.18 CPU-s, 800 KB 16.7 MB and
   * 1.8 CPU-s, 1.6 MB 32.7 MB and 2.5 CPU-s, for one 20 KB batch). Keyframes of a backlog's windows
   * are large (up to ~150 KB each over bench/collector-backlog's mix), so a live batch sent while a
   * backlog drains was compressed against up to 12 of them (855 KB seen). On the reference
   * workload the references of a batch took at most 343 KB (p90 325 KB), so the default leaves it
   * as it was; sized to the memory limit (runtime/memory-sizing.ts).
   */
  referenceBytes: Type.Integer({
    minimum: 16_384,
    default: 393_216,
    description:
      "Most bytes of keyframe bodies a batch is compressed against, the newest first; a template-samples batch keeps the template counts' keyframes it borrows before its own (zstd's working memory at level 19 is ~20x this).",
  }),
  keyframeEvery: Type.Integer({
    minimum: 1,
    default: 2,
    description:
      'Every Nth batch of a class is a keyframe, whose body the ingester keeps for later batches to refer to.',
  }),
});
export type SenderOptions = Static<typeof SenderOptionsSchema>;
