import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { jsonValues, protobufValues } from './decoded-values.js';

const root = new protobuf.Root();
root.resolvePath = (_o, target) => path.resolve(import.meta.dirname, '../../../proto', target);
root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
root.resolveAll();
const Request = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const encode = (doc: object) => Request.encode(Request.fromObject(doc)).finish();
const metric = (m: object) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', ...m }] }] }] });

describe('protobufValues', () => {
  it('counts a value per message, per list element and per other field set', () => {
    const point = { timeUnixNano: 5, asDouble: 1.5, attributes: [{ key: 'k', value: { stringValue: 'v' } }] };
    // request, resourceMetrics, scopeMetrics, metric, its name, gauge: 6; a point: itself, 2 numbers, key/value, key, value, string: 7.
    expect(protobufValues(Request, encode(metric({ gauge: { dataPoints: [point, point] } })), 1000).values).toBe(
      6 + 2 * 7,
    );
    // Packed lists count their elements: 3 fixed64 bucket counts, 2 double bounds.
    const histogram = { dataPoints: [{ bucketCounts: [1, 2, 3], explicitBounds: [0.5, 1] }] };
    expect(protobufValues(Request, encode(metric({ histogram })), 1000).values).toBe(6 + 1 + 3 + 2);
    // Varint lists too: exponential histogram buckets (uint64), one per value however long its varint.
    const exponential = { dataPoints: [{ positive: { bucketCounts: [1, 300, 70000] } }] };
    expect(protobufValues(Request, encode(metric({ exponentialHistogram: exponential })), 1000).values).toBe(6 + 2 + 3);
  });

  it('finds strings that may be two bytes a character in any byte over 0x7F', () => {
    const named = (name: string) => protobufValues(Request, encode(metric({ name })), 1000).wide;
    expect(named('mmmm')).toBe(false);
    expect(named('mmmā')).toBe(true);
  });

  it('counts the bytes of string fields, not of bytes fields', () => {
    const point = {
      exemplars: [{ spanId: Buffer.alloc(8), asDouble: 1 }],
      attributes: [{ key: 'k', value: { stringValue: 'vvvv' } }],
    };
    // The metric's name, the attribute's key and its value; not the exemplar's span id.
    expect(protobufValues(Request, encode(metric({ gauge: { dataPoints: [point] } })), 1000).stringBytes).toBe(
      1 + 1 + 4,
    );
  });

  it('counts empty messages, which are what costs the heap most per byte', () => {
    const body = encode(metric({ gauge: { dataPoints: Array.from({ length: 1000 }, () => ({})) } }));
    expect(protobufValues(Request, body, 10_000).values).toBe(6 + 1000);
  });

  it('stops once over the bound', () => {
    const body = encode(metric({ gauge: { dataPoints: Array.from({ length: 1000 }, () => ({})) } }));
    expect(protobufValues(Request, body, 100).values).toBe(101);
  });

  it('counts nothing for fields the decoder discards', () => {
    const known = encode(metric({ gauge: {} }));
    // Field 15 of the request, a string: not in the definition.
    const unknown = Buffer.concat([known, Buffer.from([0x7a, 3, 0x61, 0x62, 0x63])]);
    expect(protobufValues(Request, unknown, 1000)).toEqual(protobufValues(Request, known, 1000));
  });

  it('throws on a known field with another wire type than its own, which a decoder may read as its type says', () => {
    const inner = encode(metric({ gauge: {} })).subarray(2); // the ResourceMetrics, without its tag and length
    // Field 1 of the request (resource_metrics, a message) tagged as a varint: the length, then the message.
    // protobufjs 7 (grpc's proto-loader) decodes the message all the same; the count must not depend on which.
    const asVarint = Buffer.concat([Buffer.from([0x08, inner.length]), inner]);
    expect(() => protobufValues(Request, asVarint, 1000)).toThrow(/resourceMetrics.*wire type 0, not 2/);
    // A string (the metric's name, field 1) tagged as fixed64.
    const name = Buffer.concat([Buffer.from([0x0a, 13, 0x12, 11, 0x12, 9, 0x09]), Buffer.alloc(8)]);
    expect(() => protobufValues(Request, name, 1000)).toThrow(/name.*wire type 1, not 2/);
  });

  it('throws on bytes that do not read as protobuf', () => {
    expect(() => protobufValues(Request, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), 1000)).toThrow();
  });
});

describe('jsonValues', () => {
  it('counts objects, arrays and the members or elements after the first', () => {
    expect(jsonValues(Buffer.from('{}'), 100).values).toBe(2);
    expect(jsonValues(Buffer.from('{"a":[1,2,3],"b":{}}'), 100).values).toBe(1 + 1 + 1 + 2 + 1 + 1);
  });

  it('does not count what is inside strings, escaped quotes included', () => {
    expect(jsonValues(Buffer.from('{"a":"{[,\\"{[,"}'), 100).values).toBe(2);
    expect(jsonValues(Buffer.from('["é{", "\\\\", {}]'), 100).values).toBe(5);
  });

  it('stops once over the bound', () => {
    expect(jsonValues(Buffer.from(`[${'{},'.repeat(999)}{}]`), 100).values).toBe(101);
  });

  it('finds strings that may be two bytes a character: a byte over 0x7F, or a \\u escape', () => {
    const wide = (json: string) => jsonValues(Buffer.from(json), 100).wide;
    expect(wide('{"body":{"stringValue":"AAAA"}}')).toBe(false);
    expect(wide('{"body":{"stringValue":"AAAā"}}')).toBe(true);
    // An escape writes the same character in ASCII: JSON.parse's string is two bytes a character all the same.
    expect(wide('{"body":{"stringValue":"AAA\\u0101"}}')).toBe(true);
    // An escaped backslash before a `u` is no escape of a character.
    expect(wide('{"path":"C:\\\\users"}')).toBe(false);
    // Not JSON, but its text is two bytes a character before JSON.parse refuses it.
    expect(wide('{"a":"\\é"}')).toBe(true);
  });

  it('counts the bytes between quotes, keys and escapes included', () => {
    expect(jsonValues(Buffer.from('{"ab":"c\\"d", "e": 1}'), 100).stringBytes).toBe(2 + 4 + 1);
    expect(jsonValues(Buffer.from('{"é": "  "}    '), 100).stringBytes).toBe(2 + 2);
  });
});
