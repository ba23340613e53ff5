/**
 * Reads of ClickHouse shared by every caller within `reuseMs` of the first, by key (a pull's
 * record, its progress): N readers of one pull, or a flood of messages naming it, cost one read.
 * At most `max` are kept. At that bound those older than `reuseMs` are let go; a read that still
 * finds no room is not kept, so keys asked for faster than they age (made-up pull ids) cannot push
 * out the reads of real pulls.
 */
export interface SharedReads<V> {
  /** The read of `key` taken less than reuseMs before `at`, if kept. */
  get(key: string, at: number): V | undefined;
  /** Keeps `value`, the read of `key` taken at `at`, for the callers that come within reuseMs. */
  set(key: string, at: number, value: V): void;
  /** Forgets the read of `key` (it is known to be out of date). */
  delete(key: string): void;
}

export function createSharedReads<V>(o: { reuseMs: number; max: number }): SharedReads<V> {
  const reads = new Map<string, { at: number; value: V }>();
  return {
    get(key, at) {
      const r = reads.get(key);
      return r !== undefined && at - r.at < o.reuseMs ? r.value : undefined;
    },
    set(key, at, value) {
      if (reads.size >= o.max && !reads.has(key))
        for (const [k, r] of reads) if (at - r.at >= o.reuseMs) reads.delete(k);
      if (reads.size < o.max || reads.has(key)) reads.set(key, { at, value });
    },
    delete(key) {
      reads.delete(key);
    },
  };
}
