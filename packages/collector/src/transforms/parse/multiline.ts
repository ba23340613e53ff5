import type { FileRef, RawLogLine } from '../../sources/types.js';
import type { MultilineOptions } from './options.js';

interface Pending {
  first: RawLogLine;
  /** File offset after the last line joined (the event's end). */
  end: number;
  lines: string[] | undefined;
  chars: number;
  rawBytes: number;
  /** When the last line joined was read (node clock), and its runtime time. */
  lastAt: number;
  lastTs: number;
  python: boolean;
  /** A Go panic or fatal error: its goroutine dump follows (see GO_CONTINUATION). */
  go: boolean;
  lastIndented: boolean;
  /**
   * Where the first line's PostgreSQL severity starts (after its log_line_prefix), -1 when it has
   * none (postgresSeverityAt); looked for once per event, when a line could continue it.
   */
  pgAt: number | undefined;
}

const CONTINUATION = /^(?:[ \t]+\S|Caused by: |\.\.\. \d+ (?:more|common frames omitted))/;
const PY_TRACEBACK = 'Traceback (most recent call last):';
/** The parts of a PostgreSQL message written on lines of their own after its first, each as `WORD:  `. */
const PG_PARTS = new Set(['DETAIL', 'HINT', 'CONTEXT', 'STATEMENT', 'QUERY', 'LOCATION']);
/** Longest log_line_prefix looked past for a part's keyword. */
const PG_PREFIX_MAX = 256;
/** How the Go runtime starts what it writes when a program dies: the reason, or a goroutine's header. */
const GO_START = /^(?:panic: |fatal error: |goroutine \d+ )/;
/**
 * The lines of a Go goroutine dump that are not indented: blank lines between goroutines, their
 * headers, `[signal ...]`, `created by ...` and the frames' calls (GO_CALL: `pkg.(*T).Method(0xc0, {...})`);
 * the file lines under each call are indented. Only after GO_START: without it, each call and
 * header was a warning line of its own (stderr's level), and a panic's dump many of them.
 */
const GO_CONTINUATION = /^(?:$|goroutine \d+ |\[signal |created by |\.\.\.additional frames elided\.\.\.)/;
/** A frame's call up to its first argument's parenthesis; the line must also end with `)`. (One pattern for both, `\(.*\)$`, backtracked: 1.5 s on a 64 KB line of `(`.) */
const GO_CALL = /^[\w./*()[\]{}~-]+\(/;

/**
 * Joins the lines of one event that a program wrote over several lines (Java stack traces with
 * `\tat`, `Caused by:`, Python tracebacks, indented continuation lines, PostgreSQL's `DETAIL:`,
 * `HINT:`, `STATEMENT:` ... lines after their message's prefix) into one line, per
 * container and stream. A line is held until the next line shows whether it continues; an event
 * that gets no continuation within `flushAfterMs` is released: by `flush(now)` on the node's
 * clock (a live file that went quiet), or when a line of the container's other stream stamped
 * that much later is read (a backlog, read far faster than it was written).
 */
export class MultilineJoiner {
  /** Per stream, by container: no key string is built per line. */
  private readonly pending = { stdout: new Map<string, Pending>(), stderr: new Map<string, Pending>() };

  constructor(private readonly options: MultilineOptions) {}

  /** Adds a line; hands the events it completed to `emit`, in order. */
  push(line: RawLogLine, now: number, emit: (event: RawLogLine) => void): void {
    const key = line.container;
    const other = (line.stream === 'stdout' ? this.pending.stderr : this.pending.stdout).get(key);
    if (other !== undefined && line.ts - other.lastTs >= this.options.flushAfterMs) {
      (line.stream === 'stdout' ? this.pending.stderr : this.pending.stdout).delete(key);
      emit(joined(other));
    }
    const pending = this.pending[line.stream];
    const p = pending.get(key);
    if (p !== undefined && this.continues(p, line.line)) {
      const closesPython = p.python && p.lastIndented && !isIndented(line.line);
      (p.lines ??= [p.first.line]).push(line.line);
      p.chars += line.line.length + 1;
      p.rawBytes += line.rawBytes;
      p.end = line.end;
      p.lastAt = now;
      p.lastTs = line.ts;
      p.lastIndented = isIndented(line.line);
      if (closesPython) {
        pending.delete(key);
        emit(joined(p));
      }
      return;
    }
    if (p === undefined) {
      pending.set(key, {
        first: line,
        end: line.end,
        lines: undefined,
        chars: line.line.length,
        rawBytes: line.rawBytes,
        lastAt: now,
        lastTs: line.ts,
        python: line.line.startsWith(PY_TRACEBACK),
        go: GO_START.test(line.line),
        lastIndented: false,
        pgAt: undefined,
      });
      return;
    }
    // The held event is complete; its place is taken by this line, in the same object (one less per line).
    const done = joined(p);
    p.first = line;
    p.end = line.end;
    p.lines = undefined;
    p.chars = line.line.length;
    p.rawBytes = line.rawBytes;
    p.lastAt = now;
    p.lastTs = line.ts;
    p.python = line.line.startsWith(PY_TRACEBACK);
    p.go = GO_START.test(line.line);
    p.lastIndented = false;
    p.pgAt = undefined;
    emit(done);
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

  /** Releases `container`'s held events whose first line is older than `before` (its window is being sealed). */
  flushContainer(container: string, before: number): RawLogLine[] {
    const out: RawLogLine[] = [];
    for (const pending of [this.pending.stdout, this.pending.stderr]) {
      const p = pending.get(container);
      if (p !== undefined && p.first.ts < before) {
        out.push(joined(p));
        pending.delete(container);
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /** Whether an event of `container` is held (its pipeline state must stay). */
  holds(container: string): boolean {
    return this.pending.stdout.has(container) || this.pending.stderr.has(container);
  }

  /**
   * Where the earliest event of `container` held from file `file` starts; 0 when one held is from
   * an older file of the same path (all of `file` comes after it); undefined when none is held.
   */
  heldStart(container: string, file: FileRef): number | undefined {
    // (both streams without a list: this runs for every line of the log path)
    const a = heldIn(this.pending.stdout.get(container), file);
    const b = heldIn(this.pending.stderr.get(container), file);
    return a === undefined ? b : b === undefined || a <= b ? a : b;
  }

  /** The earliest first line of an event held from file `path`, if any (reading must resume there after a restart). */
  heldFrom(path: string): RawLogLine | undefined {
    let best: RawLogLine | undefined;
    for (const pending of [this.pending.stdout, this.pending.stderr])
      for (const p of pending.values()) {
        const f = p.first.file;
        if (f === undefined || f.path !== path) continue;
        const b = best?.file;
        if (
          best === undefined ||
          b === undefined ||
          f.order < b.order ||
          (f.order === b.order && p.first.offset < best.offset)
        )
          best = p.first;
      }
    return best;
  }

  private continues(p: Pending, line: string): boolean {
    const count = p.lines === undefined ? 1 : p.lines.length;
    if (count >= this.options.maxLines || p.chars + line.length + 1 > this.options.maxChars) return false;
    if (CONTINUATION.test(line)) return true;
    p.pgAt ??= postgresSeverityAt(p.first.line);
    if (p.pgAt >= 0 && postgresPart(p.first.line, p.pgAt, line)) return true;
    if (p.go) return GO_CONTINUATION.test(line) || (line.endsWith(')') && GO_CALL.test(line));
    // The exception line that ends a Python traceback is not indented.
    return p.python && p.lastIndented && line.length > 0;
  }
}

/**
 * Where a PostgreSQL message's severity (`ERROR:  `, capitals and PostgreSQL's two spaces) starts
 * in its first line, after a log_line_prefix of at most PG_PREFIX_MAX characters; -1 when the line
 * has none there. Only that far is searched: a line of 64 KB without one was searched whole, for
 * every line that followed it.
 */
function postgresSeverityAt(first: string): number {
  const head = first.length > PG_PREFIX_MAX + 3 ? first.slice(0, PG_PREFIX_MAX + 3) : first;
  const colon = head.indexOf(':  ');
  if (colon < 0) return -1;
  let word = colon;
  while (word > 0 && isCapital(first.charCodeAt(word - 1))) word--;
  return word < colon ? word : -1;
}

/**
 * Whether `line` is a part of the PostgreSQL message `first` begins (`DETAIL:  Key (id)=(1) already
 * exists.`), its severity at `at`: exactly the prefix `first` has before it (log_line_prefix: the
 * message's time and pid, the same on each of its lines), so another backend's part is not taken,
 * then the part's keyword with PostgreSQL's two spaces. A few comparisons: this runs per line.
 */
function postgresPart(first: string, at: number, line: string): boolean {
  if (line.length <= at || !line.startsWith(first.slice(0, at))) return false;
  let end = at;
  while (end < line.length && isCapital(line.charCodeAt(end))) end++;
  return end > at && line.startsWith(':  ', end) && PG_PARTS.has(line.slice(at, end));
}

function isCapital(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Where the event `p` holds starts in `file`: its offset, 0 when it is from an older file of the path, else undefined. */
function heldIn(p: Pending | undefined, file: FileRef): number | undefined {
  const f = p?.first.file;
  if (p === undefined || f === undefined || f.path !== file.path) return undefined;
  return f === file ? p.first.offset : f.order < file.order ? 0 : undefined;
}

function isIndented(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 32 || c === 9;
}

function joined(p: Pending): RawLogLine {
  if (p.lines === undefined) return p.first;
  return { ...p.first, line: p.lines.join('\n'), rawBytes: p.rawBytes, end: p.end };
}
