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
