import type { ThrottleOptions } from './options.js';

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
    // Only forward: times are the lines' own (an app's time field, up to the future-skew allowance
    // ahead), which run back and forth; each jump back, taken as a restart, let the next jump forward
    // refill the same time again (lines alternating now + 4 min and now all went through).
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

  /**
   * Refills from `at` on: the clock was stepped back (the log pipeline finds it, LogPipeline.seal).
   * Kept at the old time, it refilled nothing and every line was throttled for as long as the step.
   */
  restartAt(at: number): void {
    this.last = at;
  }
}
