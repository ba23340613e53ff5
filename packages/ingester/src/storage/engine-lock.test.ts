import { describe, expect, it } from 'vitest';
import { holdsFlock } from './engine-lock.js';

// Lines as Linux prints them in /proc/locks (pid, major:minor:inode).
const locks = [
  '1: FLOCK  ADVISORY  WRITE 14285 fe:00:2287862 0 EOF',
  '2: FLOCK  ADVISORY  WRITE 14019 fe:00:2965816 0 EOF',
  '3: POSIX  ADVISORY  WRITE 15000 fe:00:777 0 EOF',
  '4: -> FLOCK  ADVISORY  WRITE 16000 fe:00:888 0 EOF',
].join('\n');

describe('holdsFlock', () => {
  it('finds the flock of that pid on that inode', () => {
    expect(holdsFlock(locks, 14019, 2965816n)).toBe(true);
  });
  it('does not take a pid holding another file, nor another pid on that file (a stale status file)', () => {
    expect(holdsFlock(locks, 14285, 2965816n)).toBe(false);
    expect(holdsFlock(locks, 99999, 2965816n)).toBe(false);
  });
  it('does not take a POSIX lock or a process waiting for the lock', () => {
    expect(holdsFlock(locks, 15000, 777n)).toBe(false);
    expect(holdsFlock(locks, 16000, 888n)).toBe(false);
  });
});
