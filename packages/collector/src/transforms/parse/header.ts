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

const MAX_TOKENS = 24;
const MAX_BRACKET = 256;

interface Tok {
  text: string;
  start: number;
  end: number;
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
const SEPARATOR = /^(?:-{1,3}|\||:|::|>|»)$/;
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

/** The offset where the line's message starts (0: no header recognised). */
export function messageStart(line: string): number {
  const toks = tokens(line);
  if (toks.length === 0) return 0;
  let i = 0;
  let sawTime = false;
  let sawLevel = false;
  const pri = PRI.exec(toks[0]?.text ?? '');
  if (pri !== null) {
    if (pri[1] !== undefined) return rfc5424(line, toks);
    toks[0] = { ...(toks[0] as Tok), text: (toks[0] as Tok).text.slice(pri[0].length) };
    if (toks[0].text === '') i = 1;
  }
  i = leadingFields(toks, i);
  let end = -1;
  while (i < toks.length) {
    const s = (toks[i] as Tok).text;
    const next = toks[i + 1]?.text ?? '';
    const afterSeparator = i > 0 && SEPARATOR.test((toks[i - 1] as Tok).text);
    if (isTime(toks, i, sawTime) && !(sawLevel && epoch(s))) {
      // (after the level, a bare count is the message's, even in the range of epoch seconds)
      sawTime = true;
    } else if (!sawLevel && isLevel(toks, i, sawTime) && (sawTime || !s.endsWith(':'))) {
      // (`Error:` opening a line with no time is as often the message's own word)
      sawLevel = true;
    } else if (SEPARATOR.test(s)) {
      // between fields
    } else if (NUMBER.test(s) && (!sawLevel || SEPARATOR.test(next) || bracketed(next) || TAG.test(next))) {
      // pid, tid, sequence number; after the level only when another field follows (a message may start with a number)
    } else if (bracketed(s) && (sawTime || sawLevel)) {
      // thread, pid, component
    } else if ((sawTime || sawLevel) && !afterSeparator && (isTag(toks, i) || SOURCE_LOCATION.test(s))) {
      return after(line, toks, i);
    } else if (sawTime && !sawLevel && TAG.test(next) && /^[A-Za-z]/.test(next)) {
      // a host between the time and the tag (RFC 3164 `time host tag:`)
      return after(line, toks, i + 1);
    } else if ((sawTime || sawLevel) && isLogger(s, next, sawLevel)) {
      i++; // the separator after the logger's name
    } else if (sawLevel && CAPITALS.test(s) && s.length <= 8 && padded(line, toks[i] as Tok)) {
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

/** The message after token `i` (a tag), skipping a bracketed number after it (`kernel: [ 12.3]`). */
function after(line: string, toks: Tok[], i: number): number {
  const next = toks[i + 1];
  if (next !== undefined && bracketedNumber(next.text)) i++;
  return messageAt(line, toks, i);
}

function messageAt(line: string, toks: Tok[], i: number): number {
  const t = toks[i] as Tok;
  let p = t.end;
  while (p < line.length && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
  // A header that takes the whole line leaves the line as it is: an empty message groups nothing.
  return p >= line.length ? 0 : p;
}

/** RFC 5424: `<pri>1 TIMESTAMP HOST APP-NAME PROCID MSGID STRUCTURED-DATA MSG`. */
function rfc5424(line: string, toks: Tok[]): number {
  if (toks.length < 7) return 0;
  // Structured data is `-` or one or more `[...]` elements: the tokenizer keeps each element whole.
  let i = 6;
  while (i + 1 < toks.length && bracketed((toks[i + 1] as Tok).text) && bracketed((toks[i] as Tok).text)) i++;
  return messageAt(line, toks, i);
}

/**
 * Fields before the first timestamp (a record number, client address, host or node id, then
 * user or facility fields, as in the common access-log format), when a time follows within the
 * first five fields and the first is not a plain word.
 */
function leadingFields(toks: Tok[], from: number): number {
  if (isTime(toks, from, false)) return from;
  const first = toks[from]?.text ?? '';
  if (!(fieldLike(first) || CAPITALS.test(first))) return from;
  for (let i = from + 1; i < toks.length && i <= from + 4; i++) {
    if (/["'(),;]/.test((toks[i - 1] as Tok).text)) return from;
    if (isTime(toks, i, false)) return i;
  }
  return from;
}

function isTime(toks: Tok[], i: number, sawTime: boolean): boolean {
  const t = toks[i];
  if (t === undefined) return false;
  let s = t.text;
  if (bracketed(s)) {
    if (bracketedNumber(s)) return true;
    const inner = s
      .slice(1, s.lastIndexOf(']'))
      .split(/\s+/)
      .filter((x) => x !== '')
      .map((text) => ({ text, start: 0, end: 0 }));
    if (inner.length === 0 || !inner.some((x) => /\d:\d/.test(x.text) || DATETIME.test(x.text))) return false;
    return inner.every((_, k) => timePiece(inner, k, k > 0));
  }
  if (s.endsWith(',')) s = s.slice(0, -1);
  return timePiece(toks, i, sawTime, s);
}

function timePiece(toks: Tok[], i: number, sawTime: boolean, s = (toks[i] as Tok).text): boolean {
  if (DATETIME.test(s) || DATE.test(s) || TIME.test(s) || epoch(s)) return true;
  const prev = toks[i - 1]?.text ?? '';
  const next = toks[i + 1]?.text ?? '';
  // A zone or a year right after a time; a day number next to a month's name (`Dec 04`, `4 Dec`).
  if (sawTime && (ZONE.test(s) || (/^\d{4}$/.test(s) && TIME.test(prev)))) return true;
  if (/^\d{1,2},?$/.test(s)) return MONTH.test(prev) || MONTH.test(next);
  // Names of months and days count next to a day number or another part of a date.
  if (MONTH.test(s)) return /^\d{1,2},?$/.test(next) || sawTime;
  if (WEEKDAY.test(s)) return MONTH.test(next) || /^\d/.test(next);
  return false;
}

/** Epoch seconds or milliseconds between 2000 and 2040: a bare count outside it is a pid or a number. */
function epoch(s: string): boolean {
  if (!/^\d{10}(?:\d{3})?(?:\.\d+)?$/.test(s)) return false;
  const n = Number(s.length >= 13 && !s.includes('.') ? s.slice(0, 10) : s.split('.')[0]);
  return n >= 946_684_800 && n < 2_208_988_800;
}

function isLevel(toks: Tok[], i: number, sawTime: boolean): boolean {
  const s = (toks[i] as Tok).text;
  if (isLevelWord(s, true)) return true;
  if (KLOG_LEVEL.test(s)) return i === 0;
  // `D Tag: ...` (Android's logcat): one letter is a level only right before a tag.
  return sawTime && LETTER_LEVEL.test(s) && TAG.test(toks[i + 1]?.text ?? '');
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
function levelAhead(toks: Tok[], from: number): number {
  for (let i = from; i < toks.length && i < from + 6; i++) {
    const s = (toks[i] as Tok).text;
    if (i > from && isLevelWord(s, false)) return i;
    if (!(fieldLike(s) || CAPITALS.test(s) || isTime(toks, i, true))) return -1;
  }
  return -1;
}

/**
 * A logger name followed by a separator: `com.example.Foo :` or `com.example.Foo -` after the
 * level, `name -` or `name |` before it (after the level, `WORD -` is how messages start too).
 */
function isLogger(s: string, next: string, sawLevel: boolean): boolean {
  const sep = next === ':' || ((!sawLevel || s.includes('.')) && (next === '-' || next === '|'));
  return sep && /^[\w.$@/-]+$/.test(s);
}

/**
 * A tag that ends the header: structured (`org.example.Foo:`, `sshd[24200]:`, `1234#0:`), or a
 * plain word after a one-letter level or a bracketed field (`D Tag:`, `[123] LOG:`). A plain
 * word with a colon after a level or a number is how messages start as often (`Error:`, `Usage:`).
 */
function isTag(toks: Tok[], i: number): boolean {
  const s = (toks[i] as Tok).text;
  if (!TAG.test(s)) return false;
  if (!/^[A-Za-z]+:$/.test(s)) return true;
  const prev = toks[i - 1]?.text ?? '';
  return LETTER_LEVEL.test(prev) || bracketed(prev);
}

/** Followed by two or more spaces: a field padded to a column width. */
function padded(line: string, t: Tok): boolean {
  return line.charCodeAt(t.end) === 32 && line.charCodeAt(t.end + 1) === 32;
}

/** Not a plain word: holds a digit or `.`, `_`, `-`, `:`, `/`, `@`, `#` (ids, hosts, nodes, dotted names), or is a separator. */
function fieldLike(s: string): boolean {
  return SEPARATOR.test(s) || (/[\d._:/@#-]/.test(s) && !/["'(),;]/.test(s));
}

/** A level's name as `level.ts` knows them (its one-letter aliases count only in `isLevel`'s places). */
function levelName(w: string): boolean {
  return w.length > 1 && levelFromValue(w) !== undefined;
}

function bracketed(s: string): boolean {
  return s.charCodeAt(0) === 91 && s.includes(']');
}

function bracketedNumber(s: string): boolean {
  return /^\[\s*\d+(?:\.\d+)?\]$/.test(s);
}

/** Whitespace-separated fields of the line's start; a `[...]` group (nesting, spaces inside) is one field. */
function tokens(line: string): Tok[] {
  const out: Tok[] = [];
  let p = 0;
  const n = line.length;
  while (out.length < MAX_TOKENS) {
    while (p < n && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
    if (p >= n) break;
    const start = p;
    if (line.charCodeAt(p) === 91) {
      let depth = 0;
      for (; p < n && p - start < MAX_BRACKET; p++) {
        const c = line.charCodeAt(p);
        if (c === 91) depth++;
        else if (c === 93 && --depth === 0) break;
      }
      if (depth !== 0 || p >= n || p - start >= MAX_BRACKET) p = start;
      else p++;
    }
    while (p < n && line.charCodeAt(p) !== 32 && line.charCodeAt(p) !== 9) p++;
    out.push({ text: line.slice(start, p), start, end: p });
  }
  return out;
}
