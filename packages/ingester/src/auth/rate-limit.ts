/**
 * Token-bucket rate limiting per key (a token id, or a client address for failed logins). The
 * bucket map is bounded: when full, the least recently used key is dropped, which only ever
 * forgives a client, so a flood of distinct keys cannot grow memory.
 */
import { take, type Bucket, type RateLimitOptions, type Take } from '../quotas/token-bucket.js';

export type { Take } from '../quotas/token-bucket.js';

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
