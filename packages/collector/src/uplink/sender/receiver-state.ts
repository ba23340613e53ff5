/**
 * What this node knows the ingester holds, learnt from its acks: the keyframe bodies a frame may
 * be compressed against (references.ts) and the template texts a row may leave out
 * (template-texts.ts). Both change the bytes of a batch according to which acks came back, so
 * they sit behind one object: an ack, a `resend` answer and a new session reach both from here,
 * and the uplink holds no other state about the receiver.
 */
import type { BatchCodec, LogTemplate } from '@edge-telemetry/protocol';
import { ReferenceBook, type BulkEncoding, type ReferenceBookOptions, type ReferenceStats } from './references.js';
import { TemplateTexts } from './template-texts.js';

export class ReceiverState {
  private readonly references: ReferenceBook;
  private readonly texts: TemplateTexts;

  constructor(
    codec: BatchCodec,
    options: ReferenceBookOptions,
    o: { bulk?: BulkEncoding; textLookbackMs?: number } = {},
  ) {
    this.references = new ReferenceBook(codec, options, o.bulk);
    this.texts = new TemplateTexts(o.textLookbackMs);
  }

  /** At submit: the rows with the texts the ingester holds left out. */
  omitHeldTexts(templates: readonly LogTemplate[]): LogTemplate[] {
    return this.texts.omitHeld(templates);
  }

  /** At submit, once the batch is durable: the texts it carries are held from its ack on. */
  carried(epoch: number, seq: number, templates: readonly LogTemplate[], windowEnd: number): void {
    this.texts.carried(epoch, seq, templates, windowEnd);
  }

  /** At publish: the frame for a standalone frame from the outbox (compressed against keyframes). */
  frameFor(rec: { epoch: number; seq: number; priorityClass: number }, standalone: Buffer, bulk = false): Buffer {
    return this.references.frameFor(rec, standalone, bulk);
  }

  /** The batch is stored: its keyframe body and its texts are held by the ingester. */
  acked(epoch: number, seq: number): void {
    this.references.acked(epoch, seq);
    this.texts.acked(epoch, seq);
  }

  /** The ingester lacked a reference (`resend`): compress against new keyframes only. */
  unknownReference(): void {
    this.references.unknownReference();
  }

  /** A new connection: keyframes in flight no longer count as on their way. */
  resetSession(): void {
    this.references.resetSession();
  }

  stats(): ReferenceStats {
    return this.references.stats();
  }
}
