/**
 * The per-node byte share as the router uses it: admit() takes a message's wire bytes, charge()
 * what its batch decompressed to beyond them, overdrawn() reads the share. The clock is the
 * test's: the buckets refill only when it moves.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { createNodeQuotas } from './node-quotas.js';

/** The smallest byteBurst the config takes (a batch frame's largest). */
const MIB = 1024 * 1024;
const quotasOf = (o: Record<string, number>) =>
  createNodeQuotas(resolveConfig({ quotas: o }, {}).quotas, { now: () => 1_000_000 });

describe('node byte share', () => {
  it('a batch smaller decoded than on the wire gives nothing back: its wire bytes were taken', () => {
    const quotas = quotasOf({ bytesPerSecond: 1024, byteBurst: MIB });
    expect(quotas.admit('n1', 600_000)).toBe(true);
    // A 600,000-byte frame whose body is 100,000 bytes: charged 100,000 - 600,000.
    quotas.charge('n1', -500_000);
    expect(quotas.admit('n1', 600_000)).toBe(false);
    expect(quotas.admit('n1', 400_000)).toBe(true);
  });
});
