/**
 * Token-bucket rate limiting per key (a token id, or a client address for failed logins). The
 * bucket map is bounded: when full, the least recently used key is dropped, which only ever
 * forgives a client, so a flood of distinct keys cannot grow memory.
 */
export interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

export type Take = { allowed: true } | { allowed: false; retryAfterS: number };

/** Pure: the bucket after one request at `now`, and whether the request may go ahead. */
export function take(b: Bucket | undefined, now: number, o: RateLimitOptions): { bucket: Bucket; result: Take } {
  const refilled = b ? Math.min(o.burst, b.tokens + ((now - b.at) / 1000) * o.perSecond) : o.burst;
  if (refilled >= 1) return { bucket: { tokens: refilled - 1, at: now }, result: { allowed: true } };
  return {
    bucket: { tokens: refilled, at: now },
    result: { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - refilled) / o.perSecond)) },
  };
}

export interface RateLimiter {
  take(key: string): Take;
}

export function createRateLimiter(o: RateLimitOptions & { maxKeys?: number; now?: () => number }): RateLimiter {
  const now = o.now ?? Date.now;
  const maxKeys = o.maxKeys ?? 10_000;
  const buckets = new Map<string, Bucket>();
  return {
    take(key) {
      const prev = buckets.get(key);
      const { bucket, result } = take(prev, now(), o);
      // Re-inserting keeps the Map in least-recently-used order: the first key is the one to drop.
      buckets.delete(key);
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      return result;
    },
  };
}
