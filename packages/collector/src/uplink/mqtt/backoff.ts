/**
 * Reconnect delay: exponential with full jitter, so a fleet that lost its uplink together does
 * not reconnect together. `random` is injected for tests.
 */
export function reconnectDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs / 2, Math.round(ceiling * random()));
}
