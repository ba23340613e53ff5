/**
 * `messageStart` (header.ts) for the lines of a log path, with its answers kept by what each line
 * read to decide. A source writes its header in a few layouts, and cutting one costs ~1.3 µs per
 * line of Loghub-2k's text (fields read one by one, each asked a dozen regular expressions): the
 * largest single step of a text line's CPU.
 *
 * Exact: the header cut asks of a character only whether it is a digit, never which (its tests are
 * character classes and lengths), with one exception, a run of ten digits or more, whose first ten
 * are read as epoch seconds and compared with a range. So each line's answer holds for every line
 * whose first `reach` characters (what `readHeader` read) are the same with each digit read as `0`,
 * except the first digit of a run of ten or more, read as whether that run is in the epoch range.
 * A line read to its end (`reach` past its length) is kept with its length. Lines are looked up by
 * a hash of that masked text at each kept length, and compared in full before an answer is used.
 */

import { epochSeconds, plainWordFirst, readHeader } from './header.js';

/**
 * Entries kept (~150 bytes each); past this many they are dropped and learned again. An answer is
 * kept per layout and the words the cut read after it (Loghub-2k's ten systems: ~800 in all).
 */
const MAX_ENTRIES = 2048;
/** A header read further than this is not kept (bounds the entries' size and every lookup's scan). */
const MAX_REACH = 256;
const DIGIT = 48;
/** A run of ten digits or more whose first ten are in the epoch range: its first digit reads as this. */
const EPOCH_DIGIT = 49;
/** Salt of the key of an entry read to the line's end (its length is part of it). */
const WHOLE = 0x5bd1e995;
/** Salt of the key of an entry whose last character read counts only as neither whitespace nor `[`. */
const OPENS = 0x27d4eb2d;
/** FNV-1a's offset basis and prime (32 bits). */
const SEED = 0x811c9dc5;
const PRIME = 0x01000193;
/** Lines are sorted into buckets by their first this many characters (masked). */
const BUCKET = 8;
/** Keys of answers met once that are remembered (16 KiB). */
const SEEN_SLOTS = 4096;

interface Entry {
  /** The line's first characters as masked (see above). */
  masked: string;
  /** The line was read to its end: a line matches only with the same length. */
  whole: boolean;
  /** The character after `masked` was read only as neither whitespace nor `[`. */
  opens: boolean;
  start: number;
}

export class HeaderCuts {
  static readonly maxEntries = MAX_ENTRIES;
  /** Entries by the hash of their masked text (`hash`). */
  private readonly entries = new Map<number, Entry>();
  /** Entries by the hash of their first BUCKET characters: the lengths to look them up at. */
  private readonly buckets = new Map<number, number[]>();
  /** Entries shorter than BUCKET: their lengths. */
  private readonly short: number[] = [];
  /** Keys of answers met once, by their low bits (a later key in the same slot takes it). */
  private readonly seen = new Int32Array(SEEN_SLOTS);

  /** Answers kept. */
  get size(): number {
    return this.entries.size;
  }

  /** The offset where the line's message starts, as `messageStart(line)`. */
  messageStart(line: string): number {
    // Decided by the first word alone and not worth keeping; readHeader leaves this test to us.
    if (plainWordFirst(line)) return 0;
    const found = this.find(line);
    if (found >= 0) return found;
    const { start, reach, opens } = readHeader(line);
    if (reach > 0 && reach <= MAX_REACH) this.keep(line, reach, opens, start);
    return start;
  }

  /** The kept answer for `line`, or -1. */
  private find(line: string): number {
    const n = line.length;
    let h = SEED;
    let run = 0;
    let lengths = this.short;
    let next = 0;
    for (let i = 0; i < n; i++) {
      const c = maskedAt(line, i, run);
      run = c === DIGIT || c === EPOCH_DIGIT ? run + 1 : 0;
      h = Math.imul(h ^ c, PRIME);
      const length = i + 1;
      if (length === BUCKET) {
        const b = this.buckets.get(h);
        if (b === undefined) return -1;
        lengths = b;
        next = 0;
      }
      while (next < lengths.length && (lengths[next] as number) < length) next++;
      if (lengths[next] !== length) {
        if (next >= lengths.length && length >= BUCKET) return -1;
        continue;
      }
      const e = this.entries.get(h);
      if (e !== undefined && matches(e, line)) return e.start;
      const salt = length === n ? WHOLE : opensAt(line, length) ? OPENS : 0;
      const f = salt === 0 ? undefined : this.entries.get(h ^ salt);
      if (f !== undefined && matches(f, line)) return f.start;
    }
    return -1;
  }

  private keep(line: string, reach: number, opens: boolean, start: number): void {
    const whole = reach > line.length;
    const length = whole ? line.length : opens ? reach - 1 : reach;
    let h = SEED;
    let bucket = 0;
    let run = 0;
    for (let i = 0; i < length; i++) {
      const c = maskedAt(line, i, run);
      run = c === DIGIT || c === EPOCH_DIGIT ? run + 1 : 0;
      h = Math.imul(h ^ c, PRIME);
      if (i + 1 === BUCKET) bucket = h;
    }
    const key = whole ? h ^ WHOLE : opens ? h ^ OPENS : h;
    // Kept the second time it is met: a header with a word of its own on every line (a request id,
    // a pod name) would otherwise fill the entries with answers never asked again, each promoted to
    // the old generation before it is dropped (twice the cut's CPU when every line missed).
    const slot = key & (SEEN_SLOTS - 1);
    if (this.seen[slot] !== key) {
      this.seen[slot] = key;
      return;
    }
    const codes: number[] = [];
    run = 0;
    for (let i = 0; i < length; i++) {
      const c = maskedAt(line, i, run);
      run = c === DIGIT || c === EPOCH_DIGIT ? run + 1 : 0;
      codes.push(c);
    }
    if (this.entries.size >= MAX_ENTRIES) {
      this.entries.clear();
      this.buckets.clear();
      this.short.length = 0;
    }
    this.entries.set(key, { masked: String.fromCharCode(...codes), whole, opens, start });
    let lengths = this.short;
    if (length >= BUCKET) {
      lengths = this.buckets.get(bucket) ?? [];
      this.buckets.set(bucket, lengths);
    }
    if (!lengths.includes(length)) {
      lengths.push(length);
      lengths.sort((a, b) => a - b);
    }
  }
}

/** The character at `i` as the header cut tells it from others; `run`: digits just before it. */
function maskedAt(line: string, i: number, run: number): number {
  const c = line.charCodeAt(i);
  if (c < 48 || c > 57) return c;
  if (run > 0) return DIGIT;
  return epochRun(line, i) ? EPOCH_DIGIT : DIGIT;
}

/** Whether a run of ten digits or more starts at `i` with its first ten epoch seconds (as header.ts reads them). */
function epochRun(line: string, i: number): boolean {
  if (i + 10 > line.length) return false;
  let v = 0;
  for (let k = i; k < i + 10; k++) {
    const c = line.charCodeAt(k);
    if (c < 48 || c > 57) return false;
    v = v * 10 + (c - 48);
  }
  return epochSeconds(v);
}

/** The character at `i` is there and is neither whitespace nor `[` (header.ts messageAt). */
function opensAt(line: string, i: number): boolean {
  const c = line.charCodeAt(i);
  return i < line.length && c !== 32 && c !== 9 && c !== 91;
}

function matches(e: Entry, line: string): boolean {
  const m = e.masked;
  if (e.whole ? line.length !== m.length : line.length < m.length) return false;
  if (e.opens && !opensAt(line, m.length)) return false;
  let run = 0;
  for (let i = 0; i < m.length; i++) {
    const c = maskedAt(line, i, run);
    if (c !== m.charCodeAt(i)) return false;
    run = c === DIGIT || c === EPOCH_DIGIT ? run + 1 : 0;
  }
  return true;
}
