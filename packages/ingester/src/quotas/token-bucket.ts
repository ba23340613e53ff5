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

/** Pure: the bucket after taking `cost` tokens at `now` (ms), and whether that may go ahead. */
export function take(
  b: Bucket | undefined,
  now: number,
  o: RateLimitOptions,
  cost = 1,
): { bucket: Bucket; result: Take } {
  const refilled = b ? Math.min(o.burst, b.tokens + ((now - b.at) / 1000) * o.perSecond) : o.burst;
  if (refilled >= cost) return { bucket: { tokens: refilled - cost, at: now }, result: { allowed: true } };
  return {
    bucket: { tokens: refilled, at: now },
    result: { allowed: false, retryAfterS: Math.max(1, Math.ceil((cost - refilled) / o.perSecond)) },
  };
}
