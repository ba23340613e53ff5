import type { ThrottleOptions } from './options.js';

/** Times further back than this (ms) from the latest one are a clock stepped back. */
const STEP_BACK_MS = 60_000;

/**
 * Token bucket: holds up to `burst` tokens, refilled at `linesPerSecond`; each shipped line takes
 * one. Time is passed in (ms), so the mechanism is tested without clocks.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: ThrottleOptions,
    now: number,
  ) {
    this.tokens = options.burst;
    this.last = now;
  }

  take(now: number): boolean {
    if (this.options.linesPerSecond === 0) return true;
    // A clock stepped back counts as no time: waiting for it to pass `last` again refilled nothing,
    // and every line was throttled for as long as the step. Lines' own times run back a little
    // (threads, streams): that is not a step, or each would refill the same time again.
    if (now < this.last - STEP_BACK_MS) this.last = now;
    if (now > this.last) {
      this.tokens = Math.min(
        this.options.burst,
        this.tokens + ((now - this.last) * this.options.linesPerSecond) / 1000,
      );
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
