/**
 * Counts per key, a key dropped when its count is back to 0: what each client address holds of a
 * shared limit (connections, request bytes in flight, gRPC read slots), so that the map holds only
 * the addresses holding something and cannot grow with every address ever seen.
 */
export interface Tally {
  get(key: string): number;
  /** Adds `n` (below 0 to give back) and returns the key's new count. */
  add(key: string, n: number): number;
}

export function createTally(): Tally {
  const counts = new Map<string, number>();
  return {
    get: (key) => counts.get(key) ?? 0,
    add(key, n) {
      const count = (counts.get(key) ?? 0) + n;
      if (count > 0) counts.set(key, count);
      else counts.delete(key);
      return count;
    },
  };
}
