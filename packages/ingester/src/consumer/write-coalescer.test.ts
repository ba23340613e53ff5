/** The writes of one event-loop turn leave together, and nothing is held past the turn. */
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { writeCoalescer } from './write-coalescer.js';

/** A real Writable that records how its chunks were handed over: one entry per write or writev call. */
function recording() {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { stream, calls };
}

describe('writeCoalescer', () => {
  it('hands the writes of one turn over in one writev, after the turn', async () => {
    const { stream, calls } = recording();
    const coalesce = writeCoalescer(() => stream);
    for (const p of ['a', 'b', 'c']) {
      coalesce();
      stream.write(p);
    }
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('holds nothing past the turn: the next turn writes again, in its own writev', async () => {
    const { stream, calls } = recording();
    const coalesce = writeCoalescer(() => stream);
    coalesce();
    stream.write('a');
    await nextTurn();
    coalesce();
    stream.write('b');
    coalesce();
    stream.write('c');
    await nextTurn();
    expect(calls).toEqual([['a'], ['b', 'c']]);
    // Uncorked: a write without the coalescer goes out at once.
    stream.write('d');
    expect(calls.at(-1)).toEqual(['d']);
  });

  it('does nothing without a stream (not connected)', () => {
    expect(() => writeCoalescer(() => undefined)()).not.toThrow();
  });
});
