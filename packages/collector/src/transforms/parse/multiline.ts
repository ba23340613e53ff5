import type { RawLogLine } from '../../sources/types.js';
import type { MultilineOptions } from './options.js';

interface Pending {
  first: RawLogLine;
  lines: string[] | undefined;
  chars: number;
  rawBytes: number;
  lastAt: number;
  python: boolean;
  lastIndented: boolean;
}

const CONTINUATION = /^(?:[ \t]+\S|Caused by: |\.\.\. \d+ (?:more|common frames omitted))/;
const PY_TRACEBACK = 'Traceback (most recent call last):';

/**
 * Joins the lines of one event that a program wrote over several lines (Java stack traces with
 * `\tat`, `Caused by:`, Python tracebacks, indented continuation lines) into one line, per
 * container and stream. A line is held until the next line shows whether it continues; an event
 * that gets no continuation within `flushAfterMs` is released by `flush(now)`.
 */
export class MultilineJoiner {
  /** Per stream, by container: no key string is built per line. */
  private readonly pending = { stdout: new Map<string, Pending>(), stderr: new Map<string, Pending>() };

  constructor(private readonly options: MultilineOptions) {}

  /** Adds a line; returns the events it completed (in order). */
  push(line: RawLogLine, now: number): RawLogLine[] {
    const pending = this.pending[line.stream];
    const key = line.container;
    const p = pending.get(key);
    if (p !== undefined && this.continues(p, line.line)) {
      const closesPython = p.python && p.lastIndented && !isIndented(line.line);
      (p.lines ??= [p.first.line]).push(line.line);
      p.chars += line.line.length + 1;
      p.rawBytes += line.rawBytes;
      p.lastAt = now;
      p.lastIndented = isIndented(line.line);
      if (closesPython) {
        pending.delete(key);
        return [joined(p)];
      }
      return [];
    }
    pending.set(key, {
      first: line,
      lines: undefined,
      chars: line.line.length,
      rawBytes: line.rawBytes,
      lastAt: now,
      python: line.line.startsWith(PY_TRACEBACK),
      lastIndented: false,
    });
    return p === undefined ? [] : [joined(p)];
  }

  /** Releases events idle for `flushAfterMs` (all of them with `all`), oldest first. */
  flush(now: number, all = false): RawLogLine[] {
    const out: RawLogLine[] = [];
    for (const pending of [this.pending.stdout, this.pending.stderr]) {
      for (const [key, p] of pending) {
        if (all || now - p.lastAt >= this.options.flushAfterMs) {
          out.push(joined(p));
          pending.delete(key);
        }
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  private continues(p: Pending, line: string): boolean {
    const count = p.lines === undefined ? 1 : p.lines.length;
    if (count >= this.options.maxLines || p.chars + line.length + 1 > this.options.maxChars) return false;
    if (CONTINUATION.test(line)) return true;
    // The exception line that ends a Python traceback is not indented.
    return p.python && p.lastIndented && line.length > 0;
  }
}

function isIndented(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 32 || c === 9;
}

function joined(p: Pending): RawLogLine {
  if (p.lines === undefined) return p.first;
  return { ...p.first, line: p.lines.join('\n'), rawBytes: p.rawBytes };
}
