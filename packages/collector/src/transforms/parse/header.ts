/**
 * Where the message of a plain-text log line starts, after the header its writer put in front
 * (timestamps, pid/tid, host, level, thread, logger or `program[pid]:` tag). Template mining
 * needs the message alone: a header's words vary independently of the event (hosts, threads,
 * levels, components), so they would split one event into many, and the template an engineer
 * reads should be the statement's text.
 *
 * The header is read as a run of fields of general kinds, never of one system's layout:
 * - timestamps: ISO 8601 / RFC 3339 (`T`, space or `-` between date and time, `.`/`,`
 *   fractions, zones), dates with `-`, `/` or `.`, clock times, month and weekday names
 *   (RFC 3164 `Mmm dd hh:mm:ss`, `Sun Dec 04 04:47:44 2005`), `dd/Mmm/yyyy:hh:mm:ss` (the
 *   common access-log time), epoch seconds or milliseconds of this century, zone words, all
 *   of these optionally in brackets, and `[  12.345678]` (seconds since boot);
 * - levels: the usual names in capitals, capitalised or in brackets (`INFO`, `Warning`,
 *   `[notice]`, `<error>`), a single letter before a tag (`D Tag:`), a letter glued to a month
 *   and day (`I0605`);
 * - numeric fields (pids, tids, sequence numbers), `-`, `|`, `:` separators;
 * - bracketed fields (threads, pids, components), only once the header has shown a time or a
 *   level;
 * - a tag ending with `:` (`sshd[24200]:`, `org.example.Foo:`, `LOG:`, `1234#0:`) or a source
 *   location ending with `]` (`file.go:12]`): the header ends there; a host right before it;
 * - RFC 5424 (`<pri>1 time host app procid msgid [sd]`) and a leading `<pri>`.
 * Fields before the first timestamp (a record number, a client address, a host, a node) count
 * when the time comes within the first five fields and the first is not a plain word.
 * Capitalised words and field-like tokens (all capitals, with digits or punctuation) between a
 * time and a level are the level's facility or component, so they end in the header too.
 *
 * A line whose prefix shows neither a time nor a level has no header: 0. Pure, and reads at most
 * the first MAX_TOKENS fields.
 */

import { levelFromValue } from './level.js';

const MAX_TOKENS = 16;
const MAX_BRACKET = 256;

interface Tok {
  text: string;
  start: number;
  end: number;
  /** isTime's answers, before and after a time was seen. */
  time?: boolean;
  timeAfterTime?: boolean;
}

const MONTH = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?$/i;
const WEEKDAY = /^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?$/i;
/** A date-time in one token: ISO 8601 with `T`, or joined by `-` (`2005-06-03-15.42.50.675872`), or `dd/Mmm/yyyy:hh:mm:ss`. */
const DATETIME =
  /^(?:\d{4}-\d{1,2}-\d{1,2}[T-]\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{1,2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2})$/;
/** yyyy-mm-dd, yyyy/mm/dd, yyyy.mm.dd, dd/mm/yyyy, yy/mm/dd, mm-dd. */
const DATE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}-\d{1,2})$/;
const TIME = /^\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const ZONE = /^(?:UTC|GMT|Z|[A-Z]{1,4}T|[+-]\d{2}:?\d{2})$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
/** `name:`, `name[pid]:`, `name(pid):`, `pid#tid:`: a tag or logger that ends the header. */
const TAG = /^[\w.$@/#-]+(?:\[[\w.-]*\]|\(\s*\d*\))?:$/;
/** `file.go:123]`: klog's source location, which ends its header. */
const SOURCE_LOCATION = /^[\w.-]+:\d+\]$/;
/** A word in capitals: a code, facility or label field. */
const CAPITALS = /^[A-Z][A-Z0-9_]+$/;
const KLOG_LEVEL = /^[IWEFD]\d{4}$/;
const LETTER_LEVEL = /^[VDIWEFA]$/;
/** `<34>1 `: RFC 5424's priority and version; `<34>` alone: RFC 3164's priority. */
const PRI = /^<\d{1,3}>(\d)?/;

/*
 * Every regular expression above is asked only once a cheap test of its first or last character
 * or its length says it can match (the guards below and in the functions that use them): this
 * runs for every text line, field by field, and most fields fail every one of them.
 */
const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
const isCapitalCode = (c: number): boolean => c >= 65 && c <= 90;
const isLetterCode = (c: number): boolean => isCapitalCode(c) || (c >= 97 && c <= 122);
/** First letters (as small letters) of MONTH, WEEKDAY and level.ts's level names: bit (letter - 97). */
const letterSet = (letters: string): number => [...letters].reduce((m, l) => m | (1 << (l.charCodeAt(0) - 97)), 0);
const MONTH_FIRST = letterSet('jfmasond');
const WEEKDAY_FIRST = letterSet('mtwfs');
/** level.ts's names and aliases. */
const LEVEL_FIRST = letterSet('tfdvinwescpa');
/** Whether `s` starts with a letter (either case) in `set`. */
function firstIn(s: string, set: number): boolean {
  const c = s.charCodeAt(0) | 32;
  return c >= 97 && c <= 122 && (set & (1 << (c - 97))) !== 0;
}
const month = (s: string): boolean => firstIn(s, MONTH_FIRST) && MONTH.test(s);
const weekday = (s: string): boolean => firstIn(s, WEEKDAY_FIRST) && WEEKDAY.test(s);
/** `-`, `--`, `---`, `|`, `:`, `::`, `>`, `»`: separators between fields. */
const separator = (s: string): boolean =>
  s === '-' || s === ':' || s === '|' || s === '--' || s === '---' || s === '::' || s === '>' || s === '»';
const isNumber = (s: string): boolean => {
  const c = s.charCodeAt(0);
  return (c === 45 || isDigitCode(c)) && NUMBER.test(s);
};
/** TAG: it ends with `:`. */
const isTagText = (s: string): boolean => s.length >= 2 && s.charCodeAt(s.length - 1) === 58 && TAG.test(s);
const capitals = (s: string): boolean => isCapitalCode(s.charCodeAt(0)) && CAPITALS.test(s);
const letterLevel = (s: string): boolean => s.length === 1 && LETTER_LEVEL.test(s);
/** ZONE: at most six characters (`+01:00`). */
const zone = (s: string): boolean => s.length <= 6 && ZONE.test(s);

/** The offset where the line's message starts (0: no header recognised). */
export function messageStart(line: string): number {
  return plainWordFirst(line) ? 0 : cut(lazyTokens(line));
}

/**
 * `messageStart` with how much of the line it read to decide (`reach`): the answer is the same for
 * every line that reads the same up to there (header-cuts.ts keeps answers by it). A line read to
 * its end has `reach` past its length: then its length counts too. With `opens`, the character at
 * `reach - 1` was read only as one that is neither whitespace nor `[`. A line that starts with a
 * plain word is decided by that word alone (start 0) and is not worth keeping: the caller
 * (HeaderCuts.messageStart) answers those with `plainWordFirst` before its lookup, so this does not
 * test it a second time on every miss; `line` must not start with a plain word.
 */
export function readHeader(line: string): { start: number; reach: number; opens: boolean } {
  const toks = lazyTokens(line);
  const start = cut(toks);
  return { start, reach: toks.reach, opens: toks.opens };
}

function cut(toks: Toks): number {
  const line = toks.line;
  if (tok(toks, 0) === undefined) return 0;
  let i = 0;
  let sawTime = false;
  let sawLevel = false;
  const first0 = text(toks, 0);
  const pri = first0.charCodeAt(0) === 60 ? PRI.exec(first0) : null;
  if (pri !== null) {
    if (pri[1] !== undefined) return rfc5424(line, toks);
    const first = tok(toks, 0) as Tok;
    first.text = first.text.slice(pri[0].length);
    if (first.text === '') i = 1;
  }
  i = leadingFields(toks, i);
  let end = -1;
  while (tok(toks, i) !== undefined) {
    const s = text(toks, i);
    // (the next field, `text(toks, i + 1)`, is read only where a test needs it: what is read decides
    // what header-cuts.ts keeps an answer by, and a message's first word read for nothing would split
    // it by every word)
    const afterSeparator = i > 0 && separator(text(toks, i - 1));
    if (isTime(toks, i, sawTime) && !(sawLevel && epoch(s))) {
      // (after the level, a bare count is the message's, even in the range of epoch seconds)
      sawTime = true;
    } else if (!sawLevel && isLevel(toks, i, sawTime) && (sawTime || !s.endsWith(':'))) {
      // (`Error:` opening a line with no time is as often the message's own word)
      sawLevel = true;
    } else if (separator(s)) {
      // between fields
    } else if (isNumber(s) && (!sawLevel || fieldFollows(text(toks, i + 1)))) {
      // pid, tid, sequence number; after the level only when another field follows (a message may start with a number)
    } else if (bracketed(s) && (sawTime || sawLevel)) {
      // thread, pid, component
    } else if (
      (sawTime || sawLevel) &&
      !afterSeparator &&
      (isTag(toks, i) || (s.charCodeAt(s.length - 1) === 93 && SOURCE_LOCATION.test(s)))
    ) {
      return after(line, toks, i);
    } else if (sawTime && !sawLevel && hostTag(text(toks, i + 1))) {
      // a host between the time and the tag (RFC 3164 `time host tag:`)
      return after(line, toks, i + 1);
    } else if ((sawTime || sawLevel) && isLogger(toks, i, sawLevel)) {
      i++; // the separator after the logger's name
    } else if (sawLevel && capitals(s) && s.length <= 8 && padded(toks, tok(toks, i) as Tok)) {
      return after(line, toks, i); // a component code padded to a column after the level, like a tag
    } else {
      const level = sawTime && !sawLevel ? levelAhead(toks, i) : -1;
      if (level < 0) break;
      sawLevel = true;
      i = level;
    }
    end = i;
    i++;
  }
  if (end < 0 || !(sawTime || sawLevel)) return 0;
  return messageAt(line, toks, end);
}

/**
 * Most messages without a header start with a plain word (`Connection refused`, `started`):
 * letters only, not a month, day or level name nor a code in capitals. Said without tokenizing,
 * as this runs on every line of the log path.
 */
export function plainWordFirst(line: string): boolean {
  let p = 0;
  const n = line.length;
  while (p < n && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
  const start = p;
  let upper = 0;
  for (; p < n; p++) {
    const c = line.charCodeAt(p);
    if (c >= 65 && c <= 90) upper++;
    else if (!(c >= 97 && c <= 122)) break;
  }
  if (p === start || (p < n && line.charCodeAt(p) !== 32 && line.charCodeAt(p) !== 9)) return false;
  const length = p - start;
  if (upper === length) return false;
  // (a word none of whose tests can pass is told so without cutting it out)
  if (length > 1 && !firstIn(line.charAt(start), MONTH_FIRST | WEEKDAY_FIRST | LEVEL_FIRST)) return true;
  const w = line.slice(start, p);
  if (month(w) || weekday(w) || levelName(w)) return false;
  return !letterLevel(w);
}

/** The message after token `i` (a tag), skipping a bracketed number after it (`kernel: [ 12.3]`). */
function after(line: string, toks: Toks, i: number): number {
  // (only a field that opens with `[` is read: a message's first word is not, see the loop above)
  let p = (tok(toks, i) as Tok).end;
  while (p < line.length && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
  if (line.charCodeAt(p) === 91) {
    const next = tok(toks, i + 1);
    if (next !== undefined && bracketedNumber(next.text)) i++;
  }
  return messageAt(line, toks, i);
}

function messageAt(line: string, toks: Toks, i: number): number {
  const t = tok(toks, i) as Tok;
  let p = t.end;
  while (p < line.length && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
  if (p < line.length && line.charCodeAt(p) !== 91 && toks.reach <= p) {
    // The message's first character, read only as one that is not whitespace (nor a `[`, which
    // after() reads as a field): whichever it is, the answer is the same.
    toks.reach = p + 1;
    toks.opens = true;
  } else seen(toks, p);
  // A header that takes the whole line leaves the line as it is: an empty message groups nothing.
  return p >= line.length ? 0 : p;
}

/** RFC 5424: `<pri>1 TIMESTAMP HOST APP-NAME PROCID MSGID STRUCTURED-DATA MSG`. */
function rfc5424(line: string, toks: Toks): number {
  if (tok(toks, 6) === undefined) return 0;
  // Structured data is `-` or one or more `[...]` elements: the tokenizer keeps each element whole.
  let i = 6;
  while (tok(toks, i + 1) !== undefined && bracketed(text(toks, i + 1)) && bracketed(text(toks, i))) i++;
  return messageAt(line, toks, i);
}

/**
 * Fields before the first timestamp (a record number, client address, host or node id, then
 * user or facility fields, as in the common access-log format), when a time follows within the
 * first five fields and the first is not a plain word.
 */
function leadingFields(toks: Toks, from: number): number {
  if (isTime(toks, from, false)) return from;
  const first = text(toks, from);
  if (!(fieldLike(first) || capitals(first))) return from;
  for (let i = from + 1; tok(toks, i) !== undefined && i <= from + 4; i++) {
    if (/["'(),;]/.test(text(toks, i - 1))) return from;
    if (isTime(toks, i, false)) return i;
  }
  return from;
}

/** Whether field `i` is (part of) a timestamp; asked several times per field, so kept on it. */
function isTime(toks: Toks, i: number, sawTime: boolean): boolean {
  const t = tok(toks, i);
  if (t === undefined) return false;
  const known = sawTime ? t.timeAfterTime : t.time;
  if (known !== undefined) return known;
  const v = readTime(toks, i, t.text, sawTime);
  if (sawTime) t.timeAfterTime = v;
  else t.time = v;
  return v;
}

function readTime(toks: Toks, i: number, text: string, sawTime: boolean): boolean {
  let s = text;
  if (bracketed(s)) {
    if (bracketedNumber(s)) return true;
    const body = s.slice(1, s.lastIndexOf(']'));
    if (!/\d:\d|\d-\d/.test(body)) return false;
    const inner = lazyTokens(body);
    let k = 0;
    for (; tok(inner, k) !== undefined; k++) if (!timePiece(inner, k, k > 0)) return false;
    return k > 0;
  }
  if (s.endsWith(',')) s = s.slice(0, -1);
  return timePiece(toks, i, sawTime, s);
}

function timePiece(toks: Toks, i: number, sawTime: boolean, s = text(toks, i)): boolean {
  const c = s.charCodeAt(0);
  // (tested by its first character first: this runs on every field of every line)
  if (c >= 48 && c <= 57) {
    if (DATETIME.test(s) || DATE.test(s) || TIME.test(s) || epoch(s)) return true;
    // A year right after a time; a day number next to a month's name (`Dec 04`, `4 Dec`).
    if (s.length === 4 && sawTime && /^\d{4}$/.test(s) && TIME.test(text(toks, i - 1))) return true;
    if (s.length <= 3 && /^\d{1,2},?$/.test(s)) return month(text(toks, i - 1)) || month(text(toks, i + 1));
    return sawTime && zone(s);
  }
  if (s.length > 10 || !((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 45)) return false;
  if (sawTime && zone(s)) return true;
  // Names of months and days count next to a day number or another part of a date.
  if (month(s)) return /^\d{1,2},?$/.test(text(toks, i + 1)) || sawTime;
  if (weekday(s)) {
    const next = text(toks, i + 1);
    return month(next) || isDigitCode(next.charCodeAt(0));
  }
  return false;
}

/** Epoch seconds or milliseconds between 2000 and 2040: a bare count outside it is a pid or a number. */
function epoch(s: string): boolean {
  if (s.length < 10 || !isDigitCode(s.charCodeAt(0)) || !/^\d{10}(?:\d{3})?(?:\.\d+)?$/.test(s)) return false;
  return epochSeconds(Number(s.length >= 13 && !s.includes('.') ? s.slice(0, 10) : s.split('.')[0]));
}

/** Seconds between 2000 and 2040 (header-cuts.ts tells digit runs apart by it). */
export function epochSeconds(n: number): boolean {
  return n >= 946_684_800 && n < 2_208_988_800;
}

function isLevel(toks: Toks, i: number, sawTime: boolean): boolean {
  const s = text(toks, i);
  if (isLevelWord(s, true)) return true;
  if (s.length === 5 && KLOG_LEVEL.test(s)) return i === 0;
  // `D Tag: ...` (Android's logcat): one letter is a level only right before a tag.
  return sawTime && letterLevel(s) && isTagText(text(toks, i + 1));
}

/** A level name in capitals, capitalised or bracketed (`INFO`, `Info`, `[notice]`, `<warn>`, `ERROR:` with `colon`). */
function isLevelWord(s: string, colon: boolean): boolean {
  let w = s;
  const c = w.charCodeAt(0);
  if ((c === 91 && w.endsWith(']')) || (c === 60 && w.endsWith('>')) || (c === 40 && w.endsWith(')')))
    return levelName(w.slice(1, -1));
  if (colon && w.endsWith(':')) w = w.slice(0, -1);
  if (!levelName(w)) return false;
  const rest = w.slice(1);
  return c >= 65 && c <= 90 && (rest === rest.toLowerCase() || rest === rest.toUpperCase());
}

/** A level within the next six fields, everything before it field-like (facility, node, component). */
function levelAhead(toks: Toks, from: number): number {
  for (let i = from; tok(toks, i) !== undefined && i < from + 6; i++) {
    const s = text(toks, i);
    if (i > from && isLevelWord(s, false)) return i;
    if (!(fieldLike(s) || capitals(s) || isTime(toks, i, true))) return -1;
  }
  return -1;
}

/**
 * A logger name followed by a separator: `com.example.Foo :` or `com.example.Foo -` after the
 * level, `name -` or `name |` before it (after the level, `WORD -` is how messages start too).
 */
function isLogger(toks: Toks, i: number, sawLevel: boolean): boolean {
  const s = text(toks, i);
  if (!/^[\w.$@/-]+$/.test(s)) return false;
  const next = text(toks, i + 1);
  return next === ':' || ((!sawLevel || s.includes('.')) && (next === '-' || next === '|'));
}

/**
 * A tag that ends the header: structured (`org.example.Foo:`, `sshd[24200]:`, `1234#0:`), or a
 * plain word after a one-letter level or a bracketed field (`D Tag:`, `[123] LOG:`). A plain
 * word with a colon after a level or a number is how messages start as often (`Error:`, `Usage:`).
 */
function isTag(toks: Toks, i: number): boolean {
  const s = text(toks, i);
  if (!isTagText(s)) return false;
  if (!/^[A-Za-z]+:$/.test(s)) return true;
  const prev = text(toks, i - 1);
  return letterLevel(prev) || bracketed(prev);
}

/** A separator, a bracketed field or a tag: after the level, a number before one of these is a header field. */
function fieldFollows(next: string): boolean {
  return separator(next) || bracketed(next) || isTagText(next);
}

/** A tag that starts with a letter: the field before it, after a time, is a host (RFC 3164 `time host tag:`). */
function hostTag(next: string): boolean {
  return isTagText(next) && isLetterCode(next.charCodeAt(0));
}

/** Followed by two or more spaces: a field padded to a column width. */
function padded(toks: Toks, t: Tok): boolean {
  seen(toks, t.end + 1);
  return toks.line.charCodeAt(t.end) === 32 && toks.line.charCodeAt(t.end + 1) === 32;
}

/** Not a plain word: holds a digit or `.`, `_`, `-`, `:`, `/`, `@`, `#` (ids, hosts, nodes, dotted names), or is a separator. */
function fieldLike(s: string): boolean {
  return separator(s) || (/[\d._:/@#-]/.test(s) && !/["'(),;]/.test(s));
}

/** A level's name as `level.ts` knows them (its one-letter aliases count only in `isLevel`'s places). */
function levelName(w: string): boolean {
  // The longest name is 11 letters; most fields are not names, and are told so without lowercasing.
  if (w.length < 2 || w.length > 11) return false;
  return firstIn(w, LEVEL_FIRST) && levelFromValue(w) !== undefined;
}

function bracketed(s: string): boolean {
  return s.charCodeAt(0) === 91 && s.includes(']');
}

function bracketedNumber(s: string): boolean {
  return s.charCodeAt(0) === 91 && /^\[\s*\d+(?:\.\d+)?\]$/.test(s);
}

/** The line's whitespace-separated fields, read as far as they are asked for (at most MAX_TOKENS). */
interface Toks {
  line: string;
  list: Tok[];
  /** Where the next field's search starts. */
  p: number;
  /** One past the last offset read (the line's length and beyond: its end was read). */
  reach: number;
  /** The last offset read was read only as neither whitespace nor `[` (messageAt). */
  opens: boolean;
}

function lazyTokens(line: string): Toks {
  return { line, list: [], p: 0, reach: 0, opens: false };
}

/** Offset `p` of the line was read (or its end, `p` >= length). */
function seen(t: Toks, p: number): void {
  if (p >= t.reach) {
    t.reach = p + 1;
    t.opens = false;
  }
}

function tok(t: Toks, i: number): Tok | undefined {
  while (t.list.length <= i && t.list.length < MAX_TOKENS) {
    const next = readToken(t, t.p);
    if (next === undefined) break;
    t.list.push(next);
    t.p = next.end;
  }
  return i < 0 ? undefined : t.list[i];
}

function text(t: Toks, i: number): string {
  return tok(t, i)?.text ?? '';
}

/** The field from `p` on; a `[...]` group (nesting, spaces inside) is one field. */
function readToken(t: Toks, from: number): Tok | undefined {
  const line = t.line;
  const n = line.length;
  let p = from;
  while (p < n && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
  if (p >= n) {
    seen(t, n);
    return undefined;
  }
  const start = p;
  if (line.charCodeAt(p) === 91) {
    let depth = 0;
    for (; p < n && p - start < MAX_BRACKET; p++) {
      const c = line.charCodeAt(p);
      if (c === 91) depth++;
      else if (c === 93 && --depth === 0) break;
    }
    seen(t, p);
    if (depth !== 0 || p >= n || p - start >= MAX_BRACKET) p = start;
    else p++;
  }
  while (p < n && line.charCodeAt(p) !== 32 && line.charCodeAt(p) !== 9) p++;
  seen(t, p);
  return { text: line.slice(start, p), start, end: p };
}
