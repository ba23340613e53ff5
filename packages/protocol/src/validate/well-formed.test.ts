import { describe, expect, it } from 'vitest';
import { seededRng } from '../testing/index.js';
import { isWellFormed, toWellFormed } from './well-formed.js';

// The definition these replaced: a high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONES = new RegExp(LONE.source, 'g');

describe('isWellFormed / toWellFormed', () => {
  it('agree with the lone-surrogate expression on seeded strings of surrogates, pairs, ASCII and Latin-1', () => {
    const rng = seededRng(15);
    const units = [0x41, 0x20, 0xe9, 0x2713, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0xfffd];
    for (let n = 0; n < 20_000; n++) {
      const len = Math.floor(rng() * 12);
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(units[Math.floor(rng() * units.length)]!);
      expect(isWellFormed(s), JSON.stringify(s)).toBe(!LONE.test(s));
      expect(toWellFormed(s), JSON.stringify(s)).toBe(s.replace(LONES, '\uFFFD'));
    }
  });

  it('keep pairs and replace each lone half', () => {
    expect(isWellFormed('ok 😀 é')).toBe(true);
    expect(toWellFormed('a\ud83d\ude00b')).toBe('a\ud83d\ude00b');
    expect(toWellFormed('\ude00\ud83d')).toBe('\ufffd\ufffd');
    expect(toWellFormed('x\ud83d')).toBe('x\ufffd');
  });
});
