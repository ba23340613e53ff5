import { describe, expect, it } from 'vitest';
import { OTLP_VALUE_BYTES } from '@edge-telemetry/protocol';
import { decodeCost } from './decode-cost.js';

describe('decodeCost', () => {
  const narrow = { values: 3, stringBytes: 10, wide: false };
  const wide = { ...narrow, wide: true };

  it('charges JSON its text and its strings, a byte a character unless the count found them wide, two then, and its values', () => {
    const body = Buffer.from('{"body":{"stringValue":"AAAA"}}');
    expect(decodeCost('json', body, narrow)).toBe(body.length + 10 + 3 * OTLP_VALUE_BYTES.json);
    expect(decodeCost('json', body, wide)).toBe(2 * (body.length + 10) + 3 * OTLP_VALUE_BYTES.json);
  });

  it('charges protobuf its strings, a byte a character unless the count found them wide, two then, and its values', () => {
    const body = Buffer.from('\x0a\x04AAAA');
    expect(decodeCost('protobuf', body, narrow)).toBe(10 + 3 * OTLP_VALUE_BYTES.protobuf);
    expect(decodeCost('protobuf', body, wide)).toBe(20 + 3 * OTLP_VALUE_BYTES.protobuf);
  });
});
