/** Token buckets: pure arithmetic shared by the API's per-token limits and the per-node quotas. */
export interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

export type Take = { allowed: true } | { allowed: false; retryAfterS: number };

/** The tokens in `b` at `now`: a bucket not seen yet is full. */
export function tokensAt(b: Bucket | undefined, now: number, o: RateLimitOptions): number {
  return b ? Math.min(o.burst, b.tokens + ((now - b.at) / 1000) * o.perSecond) : o.burst;
}

/** Pure: the bucket after taking `cost` tokens at `now` (ms), and whether that may go ahead. */
export function take(
  b: Bucket | undefined,
  now: number,
  o: RateLimitOptions,
  cost = 1,
): { bucket: Bucket; result: Take } {
  const refilled = tokensAt(b, now, o);
  if (refilled >= cost) return { bucket: { tokens: refilled - cost, at: now }, result: { allowed: true } };
  return {
    bucket: { tokens: refilled, at: now },
    result: { allowed: false, retryAfterS: Math.max(1, Math.ceil((cost - refilled) / o.perSecond)) },
  };
}

/**
 * Pure: the bucket after spending `cost` tokens at `now` whether or not they are there, down to
 * one burst below empty: for work whose size is known only once it is done (a batch's
 * decompressed bytes). A bucket below empty refuses every take until it has refilled.
 */
export function owe(b: Bucket | undefined, now: number, o: RateLimitOptions, cost: number): Bucket {
  return { tokens: Math.max(-o.burst, tokensAt(b, now, o) - cost), at: now };
}
