import { describe, expect, it } from 'vitest';
import { normalizeTemplate, parsingAccuracy } from './parsing-accuracy.js';

describe('normalizeTemplate (the Loghub-2.0 template post-processing)', () => {
  it('joins parameters that only punctuation separates and masks words holding one', () => {
    expect(normalizeTemplate('<*>:<*> Served block <*> to <*>')).toBe('<*> Served block <*> to <*>');
    expect(normalizeTemplate('Receiving block blk_<*> src: /<*>:<*>')).toBe('Receiving block <*> src: /<*>');
    expect(normalizeTemplate('time: <*>.<*> and <*>ms')).toBe('time: <*> and <*>');
    expect(normalizeTemplate('core.<*> and node-<*>')).toBe('core.<*> and node-<*>');
    expect(normalizeTemplate('  a   b 42  ')).toBe('a b <*>');
    expect(normalizeTemplate('key "<*>" here')).toBe('key <*> here');
  });
});

describe('parsingAccuracy', () => {
  it('counts messages whose normalised templates are equal', () => {
    expect(parsingAccuracy(['a <*>', 'b <*>:<*>', 'c'], ['a <*>', 'b <*>', 'd'])).toBeCloseTo(2 / 3);
    expect(() => parsingAccuracy(['a'], [])).toThrow(RangeError);
  });
});
