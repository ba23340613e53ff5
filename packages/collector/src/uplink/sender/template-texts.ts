/**
 * Template texts the ingester already holds. A template row repeats its text (85 B on average in
 * the reference workload) in every window its template is seen, and zstd finds a repeated text
 * only while it is within the keyframes compressed against. Once a batch carrying a text is
 * acknowledged (stored), later rows of the same container and template leave it out until the
 * text changes or TEMPLATE_TEXT_LOOKBACK_MS passes, so a reader finds the text by looking back
 * that far (protocol LogTemplate.template). Decided at submit time: a batch that leaves a text
 * out may then wait in the outbox for days, the text it relies on is stored already.
 *
 * Memory: one entry per template seen within the lookback, plus the texts of unacknowledged
 * batches of that period (an evicted batch is never acknowledged, so those age out too).
 */
import { TEMPLATE_TEXT_LOOKBACK_MS, type LogTemplate } from '@edge-telemetry/protocol';
import { recordKey } from '../outbox/record.js';

interface Carried {
  text: string;
  /** The carrying row's lastSeen. */
  at: number;
}

const keyOf = (t: LogTemplate): string => `${t.container}\u0000${t.id}`;

export class TemplateTexts {
  private readonly held = new Map<string, Carried>();
  private readonly pending = new Map<string, Array<Carried & { key: string }>>();
  private prunedAt = -Infinity;

  constructor(private readonly lookbackMs = TEMPLATE_TEXT_LOOKBACK_MS) {}

  /** The rows with the texts the receiver holds left out. */
  omitHeld(templates: readonly LogTemplate[]): LogTemplate[] {
    return templates.map((t) => {
      const h = this.held.get(keyOf(t));
      return h !== undefined && h.text === t.template && h.at >= t.lastSeen - this.lookbackMs
        ? { ...t, template: '' }
        : t;
    });
  }

  /** Notes the texts a submitted batch carries; `now` (its window's end) ages out what can no longer be relied on. */
  carried(epoch: number, seq: number, templates: readonly LogTemplate[], now: number): void {
    const rows = templates
      .filter((t) => t.template !== '')
      .map((t) => ({ key: keyOf(t), text: t.template, at: t.lastSeen }));
    if (rows.length > 0) this.pending.set(recordKey(epoch, seq), rows);
    // Once per window (its batches share `now`): stale entries are never used (omitHeld checks the
    // age), so pruning only bounds memory.
    if (now <= this.prunedAt) return;
    this.prunedAt = now;
    const horizon = now - this.lookbackMs;
    for (const [k, c] of this.held) if (c.at < horizon) this.held.delete(k);
    for (const [k, list] of this.pending) if (list.every((c) => c.at < horizon)) this.pending.delete(k);
  }

  acked(epoch: number, seq: number): void {
    const k = recordKey(epoch, seq);
    for (const { key, text, at } of this.pending.get(k) ?? []) {
      const h = this.held.get(key);
      if (h === undefined || at >= h.at) this.held.set(key, { text, at });
    }
    this.pending.delete(k);
  }
}
