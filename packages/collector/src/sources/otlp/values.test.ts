import { describe, expect, it } from 'vitest';
import { attributes, valueString, type AnyValue } from './values.js';

/** A map nested `depth` levels deep around a string leaf, as OTLP/JSON writes it. */
function nested(depth: number): AnyValue {
  let v: AnyValue = { stringValue: 'leaf' };
  for (let i = 0; i < depth; i++) v = { kvlistValue: { values: [{ key: 'k', value: v }] } };
  return v;
}

describe('OTLP values as strings', () => {
  it('scalars as text; one level of arrays and maps as JSON of their strings', () => {
    expect(valueString({ intValue: '42' })).toBe('42');
    expect(valueString({ boolValue: false })).toBe('false');
    expect(valueString({ arrayValue: { values: [{ intValue: 1 }, { stringValue: 'a' }] } })).toBe('["1","a"]');
    expect(valueString({ kvlistValue: { values: [{ key: 'a', value: { doubleValue: 1.5 } }] } })).toBe('{"a":"1.5"}');
  });

  it('nested arrays and maps are one JSON document, not JSON strings inside JSON strings', () => {
    expect(valueString(nested(3))).toBe('{"k":{"k":{"k":"leaf"}}}');
    expect(attributes([{ key: 'req', value: nested(2) }])).toEqual({ req: '{"k":{"k":"leaf"}}' });
  });

  it('a value nested far deeper than telemetry does costs text linear in its size (was 2^depth)', () => {
    const deep = valueString(nested(5000));
    expect(deep.length).toBeLessThan(200);
    expect(deep).toBe(`${'{"k":'.repeat(16)}"[nested too deep]"${'}'.repeat(16)}`);
    // Wide and deep together: every level holds the whole of the one below, still no blow-up.
    let wide: AnyValue = { stringValue: 'x' };
    for (let i = 0; i < 40; i++) wide = { arrayValue: { values: [wide, { stringValue: '"quoted\\"' }] } };
    expect(valueString(wide).length).toBeLessThan(2000);
  });

  it('a key named __proto__ is data', () => {
    const v = { kvlistValue: { values: [{ key: '__proto__', value: nested(1) }] } };
    expect(valueString(v)).toBe('{"__proto__":{"k":"leaf"}}');
  });
});
