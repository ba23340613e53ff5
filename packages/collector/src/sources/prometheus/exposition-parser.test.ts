import { describe, expect, it } from 'vitest';
import {
  ExpositionParser,
  parseValue,
  type ExpositionFormat,
  type FamilyType,
  type LineError,
} from './exposition-parser.js';

interface Parsed {
  types: Record<string, FamilyType>;
  samples: Array<{ name: string; labels: string[]; value: number; ts?: number }>;
  errors: Array<{ kind: LineError; line: number; detail: string }>;
  complete: boolean;
}

/** Parses `body` fed in chunks of `chunk` characters (1 = every boundary a line can be cut at). */
function parse(
  body: string,
  format: ExpositionFormat = 'text',
  chunk = body.length || 1,
  maxLineBytes = 65536,
): Parsed {
  const out: Parsed = { types: {}, samples: [], errors: [], complete: false };
  const p = new ExpositionParser(
    { format, maxLineBytes },
    {
      type: (f, t) => (out.types[f] = t),
      sample: (name, labels, value, ts) =>
        out.samples.push(ts === undefined ? { name, labels, value } : { name, labels, value, ts }),
      error: (kind, line, detail) => out.errors.push({ kind, line, detail }),
    },
  );
  for (let i = 0; i < body.length; i += chunk) p.push(body.slice(i, i + chunk));
  p.end();
  out.complete = p.complete;
  return out;
}

// The text format's own example (prometheus.io, "Exposition formats"), escapes and odd values included.
const TEXT_EXAMPLE = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
`;

describe('ExpositionParser', () => {
  it('reads the text format example, whatever the chunk boundaries', () => {
    const whole = parse(TEXT_EXAMPLE);
    expect(whole.errors).toEqual([]);
    expect(whole.types).toEqual({ http_requests_total: 'counter', http_request_duration_seconds: 'histogram' });
    expect(whole.samples[0]).toEqual({
      name: 'http_requests_total',
      labels: ['method', 'post', 'code', '200'],
      value: 1027,
      ts: 1395066363000,
    });
    expect(whole.samples[2]).toEqual({
      name: 'msdos_file_access_time_seconds',
      labels: ['path', 'C:\\DIR\\FILE.TXT', 'error', 'Cannot find file:\n"FILE.TXT"'],
      value: 1.458255915e9,
    });
    expect(whole.samples[4]).toMatchObject({ name: 'something_weird', value: Infinity, ts: -3982045 });
    expect(whole.samples).toHaveLength(9);
    for (const chunk of [1, 2, 7, 64]) expect(parse(TEXT_EXAMPLE, 'text', chunk)).toEqual(whole);
  });

  it('reads OpenMetrics: suffixed families, exemplars, second timestamps, # EOF', () => {
    const body = `# TYPE foo counter
# UNIT foo seconds
# HELP foo a counter
foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created{a="b"} 1520430000.123
# TYPE bar stateset
bar{bar="a"} 1
# EOF
`;
    const r = parse(body, 'openmetrics');
    expect(r.errors).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.types).toEqual({ foo: 'counter', bar: 'stateset' });
    expect(r.samples[0]).toEqual({ name: 'foo_total', labels: ['a', 'b'], value: 17, ts: 1520879607789 });
    expect(r.samples).toHaveLength(3);
    // Without # EOF the body was cut short; content after it is refused.
    expect(parse(body.replace('# EOF\n', ''), 'openmetrics').complete).toBe(false);
    expect(parse(`${body}late 1\n`, 'openmetrics').errors.map((e) => e.kind)).toEqual(['after_eof']);
    // An exemplar is not part of the text format.
    expect(parse('foo_total 1 # {a="b"} 1\n').errors.map((e) => e.kind)).toEqual(['bad_line']);
  });

  it('skips each bad line with its number and reason, and reads the next one', () => {
    const body = [
      'ok_1 1',
      'bad_escape{a="x\\q"} 1',
      'unterminated{a="x} 1',
      'no_value{a="x"}',
      'bad_value 12abc',
      '9starts_with_digit 1',
      'two_values 1 2 3',
      'missing_equals{a"x"} 1',
      '# TYPE t nonsense',
      'nan NaN',
      'ninf -Inf',
      'ok_2{a="b",} 2',
    ].join('\n');
    const r = parse(body);
    expect(r.samples.map((s) => s.name)).toEqual(['ok_1', 'nan', 'ninf', 'ok_2']);
    expect(r.samples[1]?.value).toBeNaN();
    expect(r.samples[2]?.value).toBe(-Infinity);
    expect(r.errors.map((e) => [e.line, e.kind])).toEqual([
      [2, 'bad_escape'],
      [3, 'bad_line'],
      [4, 'bad_line'],
      [5, 'bad_value'],
      [6, 'bad_line'],
      [7, 'bad_line'],
      [8, 'bad_line'],
      [9, 'bad_line'],
    ]);
    expect(r.errors[0]?.detail).toContain('invalid escape \\q');
  });

  it('never holds an over-long line: skipped and counted, the next line read', () => {
    const long = `huge{a="${'x'.repeat(10_000)}"} 1`;
    for (const chunk of [100, 5000, 20_000]) {
      const r = parse(`a 1\n${long}\nb 2\n`, 'text', chunk, 1000);
      expect(r.samples.map((s) => s.name)).toEqual(['a', 'b']);
      expect(r.errors.map((e) => e.kind)).toEqual(['line_too_long']);
    }
  });

  it('once the handler is full, only counts the sample lines left and still sees # EOF', () => {
    const taken: string[] = [];
    let overflow = 0;
    const handler = {
      type: () => undefined,
      sample: (name: string) => void taken.push(name),
      error: () => undefined,
      get full() {
        return taken.length >= 2;
      },
      overflow: () => void overflow++,
    };
    const p = new ExpositionParser({ format: 'openmetrics', maxLineBytes: 1000 }, handler);
    p.push('a 1\nb 2\n# TYPE c gauge\nc 3\nnot a sample\n\nd{x="1"} 4\n# EOF\n');
    p.end();
    expect(taken).toEqual(['a', 'b']);
    expect(overflow).toBe(3); // c, the bad line and d: not parsed, so each is one series over the cap
    expect(p.complete).toBe(true);
  });

  it('parses values as Go does, rejecting what is not a float', () => {
    expect(parseValue('1e3')).toBe(1000);
    expect(parseValue('-0.5')).toBe(-0.5);
    expect(parseValue('.5')).toBe(0.5);
    expect(parseValue('+Inf')).toBe(Infinity);
    expect(parseValue('inf')).toBe(Infinity);
    expect(parseValue('NaN')).toBeNaN();
    for (const bad of ['', '0x10', '1_000', ' 1', 'Infinity', '1e', '--1']) expect(parseValue(bad)).toBeUndefined();
  });
});
