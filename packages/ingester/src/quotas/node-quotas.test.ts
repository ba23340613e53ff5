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
const quotasOf = (o: Record<string, number>, maxNodes?: number) =>
  createNodeQuotas(resolveConfig({ quotas: o }, {}).quotas, {
    now: () => 1_000_000,
    ...(maxNodes ? { maxNodes } : {}),
  });

describe('node byte share', () => {
  it('a batch smaller decoded than on the wire gives nothing back: its wire bytes were taken', () => {
    const quotas = quotasOf({ bytesPerSecond: 1024, byteBurst: MIB });
    expect(quotas.admit('n1', 600_000)).toBe(true);
    // A 600,000-byte frame whose body is 100,000 bytes: charged 100,000 - 600,000.
    quotas.charge('n1', -500_000);
    expect(quotas.admit('n1', 600_000)).toBe(false);
    expect(quotas.admit('n1', 400_000)).toBe(true);
  });

  it('overdrawn() is a read: a node without state is not given any, and no other node is forgotten for it', () => {
    const quotas = quotasOf({ bytesPerSecond: 1024, byteBurst: MIB }, 2);
    quotas.drop('a', 100);
    expect(quotas.admit('b', 100)).toBe(true);
    expect(quotas.overdrawn('never-seen')).toBe(false);
    // Two nodes at most: had the read made state for a third, 'a' (the least recently seen) and its drops were gone.
    expect(quotas.drops().map((d) => d.node)).toEqual(['a']);
    quotas.charge('b', 2 * MIB);
    expect(quotas.overdrawn('b')).toBe(true);
    expect(quotas.overdrawn('a')).toBe(false);
  });
});
