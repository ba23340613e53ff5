/**
 * A streaming parser of the Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text.
 * It is fed the body chunk by chunk as it arrives and hands each sample on at once, so memory is
 * one line (at most `maxLineBytes`) whatever the body's size. A line it cannot read is reported
 * with its number and the reason and skipped; the next line is read as usual (a line is a
 * complete sample, so skipping one never corrupts another).
 *
 * Why not a library: the npm parsers measured against it (bench/prometheus.bench.ts) read the
 * whole body into memory, merge the buckets of labelled histograms into one, and know neither
 * OpenMetrics' `# EOF` nor exemplars; this one is also several times faster on real exporters'
 * output (bench/results/latest.md, `prometheus.parse_*`).
 */

export type ExpositionFormat = 'text' | 'openmetrics';

export type FamilyType =
  'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'untyped' | 'unknown';

const FAMILY_TYPES = new Set<string>([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'untyped',
  'unknown',
]);

/** Why a line was skipped: the label of the drop counter. */
export type LineError = 'bad_line' | 'bad_escape' | 'bad_value' | 'line_too_long' | 'after_eof';

export interface ExpositionHandler {
  /** A `# TYPE` line: the family's type, for the samples that follow. */
  type(family: string, type: FamilyType): void;
  /**
   * One sample. `labels` alternates names and values ([n0, v0, n1, v1, ...]), in the order the
   * target wrote them; the array is the handler's to keep. `timestampMs` is the sample's own
   * time when the line has one.
   */
  sample(name: string, labels: string[], value: number, timestampMs: number | undefined): void;
  error(kind: LineError, line: number, detail: string): void;
  /**
   * True once the handler takes no more samples (its series cap is reached): the rest of the body
   * is then only counted, a sample line at a time through `overflow`, not parsed, so a target
   * sending 100,000 series costs little more than reading them.
   */
  readonly full?: boolean;
  overflow?(): void;
}

export interface ExpositionParserOptions {
  format: ExpositionFormat;
  /** A longer line is skipped (counted as `line_too_long`) without being held in memory. */
  maxLineBytes: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const EQUALS = 0x3d;

class LineFault extends Error {
  constructor(
    readonly kind: LineError,
    detail: string,
  ) {
    super(detail);
  }
}

export class ExpositionParser {
  private pending = '';
  /** Skipping the rest of an over-long line until its newline. */
  private skipping = false;
  private lineNo = 0;
  private sawEof = false;

  constructor(
    private readonly options: ExpositionParserOptions,
    private readonly handler: ExpositionHandler,
  ) {}

  /** Whether an OpenMetrics body ended with its `# EOF` line (a body without one was cut short). */
  get complete(): boolean {
    return this.options.format === 'text' || this.sawEof;
  }

  push(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      if (this.skipping) {
        this.skipping = false;
        this.pending = '';
      } else {
        const line = this.pending === '' ? chunk.slice(start, nl) : this.pending + chunk.slice(start, nl);
        this.pending = '';
        this.line(line);
      }
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (this.skipping || start >= chunk.length) return;
    const rest = chunk.length - start;
    if (this.pending.length + rest > this.options.maxLineBytes) {
      this.lineNo++;
      this.handler.error('line_too_long', this.lineNo, `line longer than ${this.options.maxLineBytes} bytes`);
      this.pending = '';
      this.skipping = true;
      return;
    }
    this.pending += chunk.slice(start);
  }

  /** The body ended: a last line without its newline is read too. */
  end(): void {
    if (!this.skipping && this.pending !== '') this.line(this.pending);
    this.pending = '';
    this.skipping = false;
  }

  private line(raw: string): void {
    this.lineNo++;
    // Text format 0.0.4 allows CR before LF from some Windows exporters; tolerate it in both.
    const line = raw.charCodeAt(raw.length - 1) === 0x0d ? raw.slice(0, -1) : raw;
    if (line.length > this.options.maxLineBytes) {
      this.handler.error('line_too_long', this.lineNo, `line longer than ${this.options.maxLineBytes} bytes`);
      return;
    }
    if (this.sawEof) {
      this.handler.error('after_eof', this.lineNo, 'content after # EOF');
      return;
    }
    if (this.handler.full) {
      const c = line.charCodeAt(0);
      if (c === HASH) this.sawEof ||= line === '# EOF' && this.options.format === 'openmetrics';
      else if (line.length > 0 && c !== SPACE && c !== TAB) this.handler.overflow?.();
      return;
    }
    try {
      if (line.charCodeAt(0) === HASH) this.comment(line);
      else if (line.trim() !== '') this.sampleLine(line);
    } catch (err) {
      if (!(err instanceof LineFault)) throw err;
      this.handler.error(err.kind, this.lineNo, err.message);
    }
  }

  private comment(line: string): void {
    if (line === '# EOF' && this.options.format === 'openmetrics') {
      this.sawEof = true;
      return;
    }
    if (!line.startsWith('# TYPE ')) return; // HELP, UNIT and plain comments carry nothing we keep
    const rest = line.slice(7).trim();
    const sp = rest.search(/[ \t]/);
    if (sp < 0) throw new LineFault('bad_line', '# TYPE without a type');
    const family = rest.slice(0, sp);
    const type = rest.slice(sp + 1).trim();
    if (!isMetricName(family)) throw new LineFault('bad_line', `# TYPE of an invalid metric name ${clip(family)}`);
    if (!FAMILY_TYPES.has(type)) throw new LineFault('bad_line', `unknown metric type ${clip(type)}`);
    this.handler.type(family, type as FamilyType);
  }

  private sampleLine(line: string): void {
    const n = line.length;
    let i = 0;
    while (i < n && isNameChar(line.charCodeAt(i), i === 0)) i++;
    if (i === 0) throw new LineFault('bad_line', `not a metric name at ${clip(line)}`);
    const name = line.slice(0, i);
    const labels: string[] = [];
    let c = line.charCodeAt(i);
    if (c === LBRACE) i = this.labels(line, i + 1, labels);
    c = line.charCodeAt(i);
    if (c !== SPACE && c !== TAB) throw new LineFault('bad_line', `expected a space before the value of ${clip(name)}`);
    while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
    let j = i;
    while (j < n && line.charCodeAt(j) !== SPACE && line.charCodeAt(j) !== TAB) j++;
    const value = parseValue(line.slice(i, j));
    if (value === undefined) throw new LineFault('bad_value', `value ${clip(line.slice(i, j))} of ${clip(name)}`);
    while (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB) j++;
    let timestampMs: number | undefined;
    if (j < n && line.charCodeAt(j) !== HASH) {
      let k = j;
      while (k < n && line.charCodeAt(k) !== SPACE && line.charCodeAt(k) !== TAB) k++;
      timestampMs = this.timestamp(line.slice(j, k));
      if (timestampMs === undefined) throw new LineFault('bad_value', `timestamp ${clip(line.slice(j, k))}`);
      j = k;
      while (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB) j++;
    }
    // What may follow is an OpenMetrics exemplar (` # {trace_id="..."} 1.0`), which is not kept.
    if (j < n && (this.options.format === 'text' || line.charCodeAt(j) !== HASH))
      throw new LineFault('bad_line', `unexpected ${clip(line.slice(j))} after the value of ${clip(name)}`);
    this.handler.sample(name, labels, value, timestampMs);
  }

  /** Reads `name="value",...}` from i; returns the index after the closing brace. */
  private labels(line: string, i: number, out: string[]): number {
    const n = line.length;
    for (;;) {
      while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
      if (line.charCodeAt(i) === RBRACE) return i + 1;
      const start = i;
      while (i < n && isNameChar(line.charCodeAt(i), i === start, false)) i++;
      if (i === start) throw new LineFault('bad_line', `expected a label name at ${clip(line.slice(start))}`);
      const label = line.slice(start, i);
      while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
      if (line.charCodeAt(i) !== EQUALS) throw new LineFault('bad_line', `expected = after label ${clip(label)}`);
      i++;
      while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
      if (line.charCodeAt(i) !== QUOTE)
        throw new LineFault('bad_line', `expected " to open the value of ${clip(label)}`);
      i++;
      const vStart = i;
      let value: string | undefined;
      let parts = '';
      let from = vStart;
      for (;;) {
        if (i >= n) throw new LineFault('bad_line', `unterminated value of label ${clip(label)}`);
        const c = line.charCodeAt(i);
        if (c === QUOTE) {
          value = from === vStart ? line.slice(vStart, i) : parts + line.slice(from, i);
          i++;
          break;
        }
        if (c === BACKSLASH) {
          const e = line.charCodeAt(i + 1);
          const ch = e === BACKSLASH ? '\\' : e === QUOTE ? '"' : e === 0x6e ? '\n' : undefined;
          if (ch === undefined)
            throw new LineFault('bad_escape', `invalid escape \\${line.charAt(i + 1)} in the value of ${clip(label)}`);
          parts += line.slice(from, i) + ch;
          i += 2;
          from = i;
          continue;
        }
        i++;
      }
      out.push(label, value);
      while (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB) i++;
      const c = line.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === RBRACE) return i + 1;
      throw new LineFault('bad_line', `expected , or } after the value of ${clip(label)}`);
    }
  }

  /** Text format: integer milliseconds; OpenMetrics: seconds, possibly fractional. */
  private timestamp(s: string): number | undefined {
    if (this.options.format === 'text') return /^-?\d{1,16}$/.test(s) ? Number(s) : undefined;
    const v = parseValue(s);
    return v !== undefined && Number.isFinite(v) ? Math.round(v * 1000) : undefined;
  }
}

/** [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names take no colon. */
function isNameChar(c: number, first: boolean, colon = true): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f) return true;
  if (c === 0x3a) return colon;
  return !first && c >= 0x30 && c <= 0x39;
}

function isMetricName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isNameChar(s.charCodeAt(i), i === 0)) return false;
  return true;
}

/** A Go-style float: decimal with optional exponent, or NaN / +Inf / -Inf (any case). */
export function parseValue(s: string): number | undefined {
  if (s.length === 0) return undefined;
  const c = s.charCodeAt(0);
  const digitFirst = (c >= 0x30 && c <= 0x39) || c === 0x2e;
  if (
    digitFirst ||
    ((c === 0x2d || c === 0x2b) && s.length > 1 && s.charCodeAt(1) !== 0x49 && s.charCodeAt(1) !== 0x69)
  ) {
    if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return undefined;
    return Number(s);
  }
  switch (s.toLowerCase()) {
    case 'nan':
      return NaN;
    case '+inf':
    case 'inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    default:
      return undefined;
  }
}

function clip(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}
