/**
 * The shape of an OTLP/JSON request, checked before the mapping reads it (pure). Protobuf bodies
 * get their shape from the decoder; parsed JSON has whatever the client sent, and the mapping
 * walks it with `for ... of` and property reads: a string where a list goes was walked character
 * by character and a number was read as an empty list, so a wrong body was answered 200 and
 * dropped unseen. Every field the mapping reads is checked here, at the depth it reads it (values
 * down to MAX_NESTING, as values.ts renders them), and the first wrong one is named by its path.
 * Absent and null fields are the defaults OTLP/JSON allows; a list item must be the object it
 * holds. Numbers are left to the mapping, which refuses what it cannot read as partial success;
 * the strings it keeps or hands to Buffer (attribute keys, ids, bytes, a span status message)
 * must be strings, as OTLP/JSON writes them.
 */
import type { OtlpSignal } from './codec.js';
import { MAX_NESTING } from './values.js';

/**
 * '' when `v` fits, else what is wrong, with the path from `v` down to the field (`.a[0].b: expected
 * ...`). The path is written only on the way back up from a wrong field: a body that fits costs no
 * string per field it holds (this runs on every OTLP/JSON request, over every point and attribute).
 */
type Check = (v: unknown) => string;

const kindOf = (v: unknown): string =>
  Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
const wrong = (expected: string, v: unknown) => `: expected ${expected}, got ${kindOf(v)}`;
const absent = (v: unknown) => v === undefined || v === null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object (or absent) whose listed fields are checked; other fields are not read, so not checked. */
function obj(fields: Record<string, Check>): Check {
  const entries = Object.entries(fields);
  return (v) => {
    if (absent(v)) return '';
    if (!isObject(v)) return wrong('an object', v);
    for (const [key, check] of entries) {
      const e = check(v[key]);
      if (e !== '') return `.${key}${e}`;
    }
    return '';
  };
}

/** A list (or absent) of objects checked by `item`: the mapping reads fields of each, so none may be null. */
function list(item: Check): Check {
  return (v) => {
    if (absent(v)) return '';
    if (!Array.isArray(v)) return wrong('an array', v);
    for (let i = 0; i < v.length; i++) {
      const e = isObject(v[i]) ? item(v[i]) : wrong('an object', v[i]);
      if (e !== '') return `[${i}]${e}`;
    }
    return '';
  };
}

/** A list (or absent) of numbers as the mapping reads them (a number, string or null each; what is not a number is refused there). */
const numbers: Check = (v) => (absent(v) || Array.isArray(v) ? '' : wrong('an array', v));

const string: Check = (v) => (absent(v) || typeof v === 'string' ? '' : wrong('a string', v));

/**
 * A value and a key/value pair at each depth from 0 to MAX_NESTING: below the last depth the
 * rendering shows `[nested too deep]` without reading further, so the checks stop there too.
 */
const ANY_VALUE: Check[] = [];
const KEY_VALUE: Check[] = [];
for (let d = MAX_NESTING; d >= 0; d--) {
  ANY_VALUE[d] =
    d === MAX_NESTING
      ? obj({ bytesValue: string })
      : obj({
          bytesValue: string,
          arrayValue: obj({ values: list(ANY_VALUE[d + 1] as Check) }),
          kvlistValue: obj({ values: list(KEY_VALUE[d + 1] as Check) }),
        });
  KEY_VALUE[d] = obj({ key: string, value: ANY_VALUE[d] as Check });
}
const attributes = list(KEY_VALUE[0] as Check);
const resource = obj({ attributes });

const point = (fields: Record<string, Check> = {}) => list(obj({ attributes, ...fields }));
const buckets = obj({ bucketCounts: numbers });
const metric = obj({
  gauge: obj({ dataPoints: point() }),
  sum: obj({ dataPoints: point() }),
  histogram: obj({ dataPoints: point({ bucketCounts: numbers, explicitBounds: numbers }) }),
  exponentialHistogram: obj({ dataPoints: point({ positive: buckets, negative: buckets }) }),
  summary: obj({ dataPoints: point({ quantileValues: list(obj({})) }) }),
});
const logRecord = obj({ body: ANY_VALUE[0] as Check, attributes, traceId: string, spanId: string });
const span = obj({
  traceId: string,
  status: obj({ message: string }),
  events: list(obj({ attributes })),
});

/** The Export*ServiceRequest of each signal, as far as the mapping reads it. */
const REQUESTS: Record<OtlpSignal, Check> = {
  metrics: obj({ resourceMetrics: list(obj({ resource, scopeMetrics: list(obj({ metrics: list(metric) })) })) }),
  logs: obj({ resourceLogs: list(obj({ resource, scopeLogs: list(obj({ logRecords: list(logRecord) })) })) }),
  traces: obj({ resourceSpans: list(obj({ resource, scopeSpans: list(obj({ spans: list(span) })) })) }),
};

/**
 * '' when a parsed OTLP/JSON request of `signal` has the shape the mapping reads, else the first
 * field that does not, e.g. `resourceMetrics[0].scopeMetrics: expected an array, got an object`.
 */
export function jsonShapeError(signal: OtlpSignal, request: Record<string, unknown>): string {
  const e = (REQUESTS[signal] as Check)(request);
  // Paths start at the request's own fields: drop the leading dot of the root.
  return e.startsWith('.') ? e.slice(1) : e;
}
