import { describe, expect, it } from 'vitest';
import { wholeLines } from './whole-lines.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('wholeLines', () => {
  it('passes whole lines on as they complete and keeps a part-line for the next part', () => {
    const w = wholeLines();
    const parts = ['one\ntw', 'o\nthr', 'ee', '\nfour\n'].map((s) => Buffer.from(s));
    const got = parts.map((p) => w.write(p));
    expect(got.map((g) => [text(g.bytes), g.lines])).toEqual([
      ['one\n', 1],
      ['two\n', 1],
      ['', 0],
      ['three\nfour\n', 2],
    ]);
    expect(w.end()).toHaveLength(0);
  });

  it('a stream cut inside a line writes only the lines before it, and counts them: a resume from that count appends the rest whole', () => {
    const all = 'a\nbb\nccc\ndddd\n';
    const cut = wholeLines();
    const before = cut.write(Buffer.from(all.slice(0, 7)));
    // The cut: no end() (the stream failed); the resume asks from the lines counted.
    const resumed = wholeLines();
    const after = resumed.write(Buffer.from(all.split('\n').slice(before.lines).join('\n')));
    expect(text(before.bytes) + text(after.bytes)).toBe(all);
    expect(before.lines + after.lines).toBe(4);
  });

  it('gives a last line without a newline at the end of a stream that ends cleanly', () => {
    const w = wholeLines();
    expect(text(w.write(Buffer.from('x\ny')).bytes)).toBe('x\n');
    expect(text(w.end())).toBe('y');
  });

  it('does not keep the caller\u2019s buffer: a part reused after write leaves the kept part-line intact', () => {
    const w = wholeLines();
    const part = Buffer.from('ab\ncd');
    w.write(part);
    part.fill(0x7a);
    expect(text(w.write(Buffer.from('e\n')).bytes)).toBe('cde\n');
  });
});
