/**
 * The uplink budget: a token bucket on the configured rate and a byte budget per UTC day.
 * Pure mechanism over an injected time (`now`, ms): no timers, no I/O, so simulated days are tested
 * in microseconds.
 *
 * A record larger than the bucket may go when the bucket is full; the bucket then runs into debt,
 * which keeps the long-run rate exact instead of starving big records.
 */
import type { BudgetOptions } from './options.js';

const DAY_MS = 86_400_000;

export interface BudgetState {
  tokens: number;
  refilledAt: number;
  day: number;
  usedToday: number;
  usedTotal: number;
}

export interface BudgetSnapshot {
  /** Bytes sent today (UTC day of the injected clock) and since start. */
  usedTodayBytes: number;
  usedTotalBytes: number;
  /** Daily budget left, -1 when no daily budget is configured. */
  budgetLeftBytes: number;
}

export function createBudgetState(now: number, opts: BudgetOptions): BudgetState {
  return { tokens: bucketDepth(opts), refilledAt: now, day: Math.floor(now / DAY_MS), usedToday: 0, usedTotal: 0 };
}

function bucketDepth(opts: BudgetOptions): number {
  return opts.rateBytesPerSec * opts.burstSeconds;
}

function refill(s: BudgetState, now: number, opts: BudgetOptions): void {
  const day = Math.floor(now / DAY_MS);
  if (day !== s.day) {
    s.day = day;
    s.usedToday = 0;
  }
  if (opts.rateBytesPerSec > 0 && now > s.refilledAt) {
    s.tokens = Math.min(bucketDepth(opts), s.tokens + ((now - s.refilledAt) * opts.rateBytesPerSec) / 1000);
  }
  // A clock stepped back (NTP correcting one that ran ahead) counts as no time, and the refill goes
  // on from the new time: kept at the old one, nothing refilled, and nothing was sent, until the
  // clock was back where it had been (an hour's step: an hour without sending).
  s.refilledAt = now;
}

/**
 * Takes `bytes` if the budget allows now and returns 0; otherwise takes nothing and returns the
 * ms to wait before asking again (Infinity never happens: the daily budget reopens at midnight UTC).
 */
export function tryTake(s: BudgetState, bytes: number, now: number, opts: BudgetOptions): number {
  refill(s, now, opts);
  if (opts.dailyBytes > 0 && s.usedToday + bytes > opts.dailyBytes) return (s.day + 1) * DAY_MS - now;
  if (opts.rateBytesPerSec > 0) {
    const need = Math.min(bytes, bucketDepth(opts));
    if (s.tokens < need) return Math.max(1, Math.ceil(((need - s.tokens) * 1000) / opts.rateBytesPerSec));
    s.tokens -= bytes;
  }
  s.usedToday += bytes;
  s.usedTotal += bytes;
  return 0;
}

/** Returns bytes taken by tryTake and not sent after all (the batch went out smaller than reserved). */
export function giveBack(s: BudgetState, bytes: number, opts: BudgetOptions): void {
  if (bytes <= 0) return;
  if (opts.rateBytesPerSec > 0) s.tokens = Math.min(bucketDepth(opts), s.tokens + bytes);
  s.usedToday = Math.max(0, s.usedToday - bytes);
  s.usedTotal = Math.max(0, s.usedTotal - bytes);
}

export function snapshot(s: BudgetState, now: number, opts: BudgetOptions): BudgetSnapshot {
  refill(s, now, opts);
  return {
    usedTodayBytes: s.usedToday,
    usedTotalBytes: s.usedTotal,
    budgetLeftBytes: opts.dailyBytes > 0 ? Math.max(0, opts.dailyBytes - s.usedToday) : -1,
  };
}

/** Bytes the budget can still carry before `now + horizonMs` (rate and daily budget both), Infinity when unlimited. */
export function capacityWithin(s: BudgetState, now: number, horizonMs: number, opts: BudgetOptions): number {
  refill(s, now, opts);
  let cap = Infinity;
  if (opts.rateBytesPerSec > 0) cap = Math.max(0, s.tokens) + (opts.rateBytesPerSec * horizonMs) / 1000;
  if (opts.dailyBytes > 0) {
    // Whole days in the horizon each bring a fresh budget; the current day brings what is left.
    const end = now + horizonMs;
    const fullDays = Math.floor(end / DAY_MS) - s.day;
    const daily = Math.max(0, opts.dailyBytes - s.usedToday) + fullDays * opts.dailyBytes;
    cap = Math.min(cap, daily);
  }
  return cap;
}

/**
 * Degrade level from the demand on the budget: 0 while backlog plus the live stream fit in what
 * the budget carries over the horizon, then one level per doubling of the excess (max 3). The
 * lead maps each level to coarser windows and a higher log threshold, each level halving the
 * live stream, so degrading comes before the outbox has to evict.
 */
export function degradeLevel(
  backlogBytes: number,
  liveBytesPerSec: number,
  capacity: number,
  horizonMs: number,
): number {
  const demand = backlogBytes + (liveBytesPerSec * horizonMs) / 1000;
  if (!Number.isFinite(capacity) || demand <= capacity) return 0;
  if (capacity <= 0) return 3;
  return Math.min(3, Math.ceil(Math.log2(demand / capacity)));
}
