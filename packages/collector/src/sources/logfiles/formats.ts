import { parseJsonObject } from '../../transforms/parse/json-text.js';

/** One entry of a container log file, cut out of its on-disk framing. */
export interface LogFileEntry {
  ts: number;
  stream: 'stdout' | 'stderr';
  /** The message text without the trailing newline. */
  text: string;
  /** True when the runtime split a long line and more of it follows in the next entry. */
  partial: boolean;
}

/**
 * Docker json-file: `{"log":"text\n","stream":"stdout","time":"RFC3339Nano"}`. A `log` value that
 * does not end in a newline is a partial line (Docker splits lines over 16 KiB). Returns undefined
 * for a line that is not such an object (corrupt or torn).
 */
export function parseDockerJsonLine(
  line: string,
  times: Pick<Rfc3339Parser, 'parse'> = plainTimes,
): LogFileEntry | undefined {
  const o = parseJsonObject(line);
  if (o === undefined) return undefined;
  if (typeof o.log !== 'string') return undefined;
  let text = o.log;
  const partial = !text.endsWith('\n');
  if (!partial) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
  const ts = typeof o.time === 'string' ? times.parse(o.time) : NaN;
  return { ts: Number.isFinite(ts) ? ts : 0, stream: o.stream === 'stderr' ? 'stderr' : 'stdout', text, partial };
}

/**
 * CRI (containerd, CRI-O, K3s): `<RFC3339Nano> <stdout|stderr> <P|F> <message>`. `P` marks a
 * partial line continued by the next entry.
 */
export function parseCriLine(line: string, times: Pick<Rfc3339Parser, 'parse'> = plainTimes): LogFileEntry | undefined {
  const s1 = line.indexOf(' ');
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(' ', s1 + 1);
  if (s2 < 0) return undefined;
  const stream = line.slice(s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.charCodeAt(s2 + 1);
  // Tag is `P` or `F`, possibly with more flags after a colon (e.g. `F:x`), then one space.
  let s3 = line.indexOf(' ', s2 + 1);
  if (s3 < 0) s3 = line.length;
  if (tag !== 80 && tag !== 70) return undefined;
  const ts = times.parse(line.slice(0, s1));
  return { ts: Number.isFinite(ts) ? ts : 0, stream, text: line.slice(s3 + 1), partial: tag === 80 };
}

/**
 * RFC 3339 UTC times as the runtimes write them (`2026-03-01T10:00:00.123456789Z`). Date.parse
 * is a large share of the per-line cost, and consecutive lines share their second, so the second
 * is parsed once and only the fraction per line; anything else goes to Date.parse. One per file
 * reader (it remembers the last second).
 */
export class Rfc3339Parser {
  private key = '';
  private ms = 0;

  parse(s: string): number {
    if (s.length < 21 || s.charCodeAt(19) !== 46 || s.charCodeAt(s.length - 1) !== 90) return Date.parse(s);
    const key = s.slice(0, 19);
    if (key !== this.key) {
      const ms = Date.parse(key + 'Z');
      if (!Number.isFinite(ms)) return Date.parse(s);
      this.key = key;
      this.ms = ms;
    }
    let frac = 0;
    let scale = 100;
    for (let i = 20; i < s.length - 1 && scale >= 1; i++, scale /= 10) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return Date.parse(s);
      frac += d * scale;
    }
    return this.ms + frac;
  }
}

const plainTimes = { parse: (s: string) => Date.parse(s) };

export type LogFileFormat = 'json-file' | 'cri';

export function parseEntry(
  format: LogFileFormat,
  line: string,
  times: Pick<Rfc3339Parser, 'parse'> = plainTimes,
): LogFileEntry | undefined {
  return format === 'json-file' ? parseDockerJsonLine(line, times) : parseCriLine(line, times);
}
