import { describe, expect, it } from 'vitest';
import { clientKey } from './connection-limits.js';

describe('clientKey', () => {
  it('is an IPv4 address as is, an IPv4-mapped IPv6 address as its IPv4, and an IPv6 address by its /64', () => {
    expect(clientKey('10.0.0.7')).toBe('10.0.0.7');
    expect(clientKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    // One client holds a /64: every address in it is one key.
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2');
    expect(clientKey('2001:db8::5')).toBe('2001:db8:0:0');
    expect(clientKey('2001:0db8:0001:0002::')).toBe('2001:db8:1:2');
    expect(clientKey('::1')).toBe('0:0:0:0');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0');
    expect(clientKey(undefined)).toBe('');
  });
});
