import { describe, expect, it } from 'vitest';
import { decodeCost, VALUE_BYTES } from './decode-cost.js';

describe('decodeCost', () => {
  const narrow = { values: 3, stringBytes: 10, wide: false };
  const wide = { ...narrow, wide: true };

  it('charges JSON its text and its strings, a byte a character unless the count found them wide, two then, and its values', () => {
    const body = Buffer.from('{"body":{"stringValue":"AAAA"}}');
    expect(decodeCost('json', body, narrow)).toBe(body.length + 10 + 3 * VALUE_BYTES.json);
    expect(decodeCost('json', body, wide)).toBe(2 * (body.length + 10) + 3 * VALUE_BYTES.json);
  });

  it('charges protobuf its strings, a byte a character unless the count found them wide, two then, and its values', () => {
    const body = Buffer.from('\x0a\x04AAAA');
    expect(decodeCost('protobuf', body, narrow)).toBe(10 + 3 * VALUE_BYTES.protobuf);
    expect(decodeCost('protobuf', body, wide)).toBe(20 + 3 * VALUE_BYTES.protobuf);
  });
});
