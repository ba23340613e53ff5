import { describe, expect, it } from 'vitest';
import { ackTimeoutFor, sampleAck, type AckEstimate } from './ack-timeout.js';

const after = (samples: number[]) => samples.reduce<AckEstimate | undefined>(sampleAck, undefined);

describe('ack timeout (RFC 6298)', () => {
  it('is the configured maximum until an ack was measured', () => {
    expect(ackTimeoutFor(undefined, 5000, 60_000)).toBe(60_000);
  });

  it('takes the first ack time, with half of it as deviation (RFC 6298 2.2)', () => {
    expect(after([2000])).toEqual({ srttMs: 2000, rttvarMs: 1000 });
    expect(ackTimeoutFor(after([2000]), 1000, 60_000)).toBe(6000);
  });

  it('settles near steady ack times and widens when they vary', () => {
    const steady = after(Array.from({ length: 50 }, () => 1500));
    expect(steady!.srttMs).toBeCloseTo(1500, 3);
    expect(ackTimeoutFor(steady, 100, 60_000)).toBeLessThan(1600);
    const varying = after(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 500 : 2500)));
    expect(ackTimeoutFor(varying, 100, 60_000)).toBeGreaterThan(4000);
  });

  it('stays within the least value and the configured maximum', () => {
    expect(ackTimeoutFor(after([10, 10, 10]), 5000, 60_000)).toBe(5000);
    expect(ackTimeoutFor(after([100_000]), 5000, 60_000)).toBe(60_000);
    // A maximum below the least value wins: the operator's ackTimeoutMs is never exceeded.
    expect(ackTimeoutFor(after([10]), 5000, 100)).toBe(100);
  });
});
