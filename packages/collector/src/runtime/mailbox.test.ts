import { describe, expect, it } from 'vitest';
import { Mailbox } from './mailbox.js';

describe('Mailbox', () => {
  it('holds items until a receiver is attached, then delivers them in order and every later one at once', () => {
    const box = new Mailbox<number>();
    box.post(1);
    box.post(2);
    const got: number[] = [];
    box.deliverTo((n) => got.push(n));
    expect(got).toEqual([1, 2]);
    box.post(3);
    expect(got).toEqual([1, 2, 3]);
  });

  it('keeps at most maxHeld items before a receiver exists and counts the rest', () => {
    const box = new Mailbox<number>(2);
    for (let i = 0; i < 5; i++) box.post(i);
    const got: number[] = [];
    box.deliverTo((n) => got.push(n));
    expect(got).toEqual([0, 1]);
    expect(box.overflowed).toBe(3);
  });
});
