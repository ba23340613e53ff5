import { describe, expect, it } from 'vitest';
import { decodeCost, VALUE_BYTES } from './decode-cost.js';

describe('decodeCost', () => {
  const size = { values: 3, stringBytes: 10 };

  it('charges JSON its text and its strings, a byte a character for an ASCII body, two otherwise, and its values', () => {
    const ascii = Buffer.from('{"body":{"stringValue":"AAAA"}}');
    expect(decodeCost('json', ascii, size)).toBe(ascii.length + 10 + 3 * VALUE_BYTES.json);
    const wide = Buffer.from('{"body":{"stringValue":"AAAā"}}');
    expect(decodeCost('json', wide, size)).toBe(2 * (wide.length + 10) + 3 * VALUE_BYTES.json);
    // An escape writes the same character in ASCII: JSON.parse's string is two bytes a character all the same.
    const escaped = Buffer.from('{"body":{"stringValue":"AAA\\u0101"}}');
    expect(decodeCost('json', escaped, size)).toBe(2 * (escaped.length + 10) + 3 * VALUE_BYTES.json);
  });

  it('charges protobuf its strings, a byte a character for an ASCII body, two otherwise, and its values', () => {
    expect(decodeCost('protobuf', Buffer.from('\x0a\x04AAAA'), size)).toBe(10 + 3 * VALUE_BYTES.protobuf);
    expect(decodeCost('protobuf', Buffer.from([0x0a, 0x02, 0xc4, 0x81]), size)).toBe(20 + 3 * VALUE_BYTES.protobuf);
  });
});
