import type { DropCount } from '@edge-telemetry/protocol';

/** How a stage reports what it dropped (the count defaults to 1). */
export interface DropReport {
  drop(d: Omit<DropCount, 'count'>, count?: number): void;
}

/** Adds up what every stage dropped, by (stage, reason, container), until the next batch takes it. */
export class DropCounter implements DropReport {
  private readonly counts = new Map<string, DropCount>();

  drop(d: Omit<DropCount, 'count'>, count = 1): void {
    const key = `${d.stage}\u0000${d.reason}\u0000${d.container}`;
    const cur = this.counts.get(key);
    if (cur) cur.count += count;
    else this.counts.set(key, { ...d, count });
  }

  /** Returns the counts since the last call and starts again from zero. */
  take(): DropCount[] {
    const out = [...this.counts.values()];
    this.counts.clear();
    return out;
  }
}
