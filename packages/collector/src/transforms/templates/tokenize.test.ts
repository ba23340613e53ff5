import { describe, expect, it } from 'vitest';
import { sepAfter, sepBefore, textAt, tokenize, tokenRules, WILDCARD as V } from './tokenize.js';

const rules = tokenRules('=,|', true);
const keys = (line: string): string[] => tokenize(line, 120, rules).key;

describe('tokenize', () => {
  it('masks values and keeps the text around the tokens', () => {
    const t = tokenize('  took 12 ms, peer=10.0.0.1:80 ok', 120, rules);
    expect(t.key).toEqual(['took', V, 'peer', V, 'ok']);
    expect(textAt(t, 1)).toBe('12 ms');
    expect(sepBefore(t, 0)).toBe('  ');
    expect(sepAfter(t, 1)).toBe(', ');
    expect(sepAfter(t, 2)).toBe('=');
  });

  it('keeps a quoted string whole: a value when it starts with one, else its words', () => {
    expect(keys('tag="View Lock" agent="Mozilla/5.0 (X11; Linux)" empty="" dash="-"')).toEqual([
      'tag',
      '"View Lock"',
      'agent',
      V,
      'empty',
      V,
      'dash',
      V,
    ]);
    expect(keys('msg="retry 3 of 5"')).toEqual(['msg', '"retry <*> of <*>"']);
  });

  it('does not cut paths and URLs, and masks file, dotted and hex names', () => {
    expect(keys('GET /a/b?x=1,2 from https://h.example.com/p?q=a=b')).toEqual(['GET', V, 'from', V]);
    expect(keys('nginx.service: Deactivated at api.example.com mask ffffffff')).toEqual([
      V,
      'Deactivated',
      'at',
      V,
      'mask',
      V,
    ]);
  });

  it('splits labels off, gives an empty key= a value, and reads month names in dates as values', () => {
    expect(keys('vCores:4 Notification: x')).toEqual(['vCores', V, 'Notification:', 'x']);
    expect(keys('logname= uid=0')).toEqual(['logname', V, 'uid', V]);
    expect(keys('[Sun Dec 04 04:47:44 2005] at May Day')).toEqual([V, V, V, V, V, 'at', 'May', 'Day']);
  });

  it('stops at maxTokens', () => {
    const t = tokenize('a b c d', 2, rules);
    expect(t.key).toEqual(['a', 'b']);
    expect(sepAfter(t, 1)).toBe('');
  });
});
