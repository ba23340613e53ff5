import { core, isPathOrUrl, UNITS, WILDCARD } from './tokenize.js';

/** Suffixes that make a number a duration, a size or a share: `12ms`, `5.2KB`, `80%`. */
const SUFFIXES = new Set([...UNITS, '%', 'k', 'K', 'M', 'G', 'T', 'm', 'ns']);

const QUOTE_CHARS = '"\'`';
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/*
 * Whole values, each kind checked by hand (no regex on the hot path), are the ones every log
 * writes: numbers with or without sign, separators and units (`-3`, `1.5`, `12:30:45`,
 * `10.0.0.1:8080`, `2024-01-31T12:00:00Z`, `12ms`, `5.2 KB`, `1h2m3s`), hex numbers (`0x1f`), hex
 * ids of six digits or more (`2bd79ce`, UUIDs, MAC and IPv6 addresses) and month or day names
 * inside a date. Other values are words that hold one (`node-160`, `blk_-123`, `ssh2`), quoted
 * strings, paths and URLs.
 */

const DATE_WORD = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*$/;

function isDateWord(c: string): boolean {
  return c.length <= 9 && DATE_WORD.test(c);
}

/** Digit groups joined by punctuation, an optional sign, a unit or a date's letters (`T`, `Z`, month names). */
function isNumeric(c: string): boolean {
  let k = 0;
  const first = c.charCodeAt(0);
  // sign, `#`, `<`, `>`, `~`, `@`
  if (first === 45 || first === 43 || first === 35 || first === 60 || first === 62 || first === 126 || first === 64)
    k++;
  if (k >= c.length || !isDigit(c.charCodeAt(k))) return false;
  let letters = '';
  for (; k < c.length; k++) {
    const d = c.charCodeAt(k);
    if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 181 || d === 37) {
      letters += c[k];
      continue;
    }
    if (d === 32) return letters === '' && UNITS.has(c.slice(k + 1)); // `5.2 KB`: number and unit joined by tokenize
    const separator = d === 46 || d === 58 || d === 44 || d === 47 || d === 45 || d === 95 || d === 43;
    if (!separator && !isDigit(d)) return false;
    if (letters === '') continue;
    // Letters between digit groups: a month name (`10/Oct/2023`), `T` before a time, a Go duration (`1h2m`).
    if (!(isDateWord(letters) || (isDigit(d) && (letters === 'T' || isDurationPart(letters))))) return false;
    letters = '';
  }
  // Trailing letters: a unit (`12ms`, `5KB`, `80%`), a zone (`Z`) or a Go duration's last unit.
  return letters === '' || SUFFIXES.has(letters) || letters === 'Z' || isDurationPart(letters);
}

function isDurationPart(s: string): boolean {
  return s === 'h' || s === 'm' || s === 's' || s === 'ms' || s === 'us' || s === 'µs' || s === 'ns';
}

/** `0x1f`, hex digits (six or more, a decimal digit among them) in groups joined by `-`, `:` or `.`, or eight hex letters or more. */
function isHexId(c: string): boolean {
  let k = 0;
  if (c.charCodeAt(0) === 45 || c.charCodeAt(0) === 43) k++;
  if (c.charCodeAt(k) === 48 && (c.charCodeAt(k + 1) === 120 || c.charCodeAt(k + 1) === 88)) {
    if (k + 2 >= c.length) return false;
    for (let j = k + 2; j < c.length; j++) if (!isHex(c.charCodeAt(j))) return false;
    return true;
  }
  let hex = 0;
  let digit = false;
  let colons = 0;
  for (; k < c.length; k++) {
    const d = c.charCodeAt(k);
    if (isHex(d)) {
      hex++;
      if (isDigit(d)) digit = true;
    } else if (d === 58) colons++;
    else if (d !== 45 && d !== 46) return false;
  }
  return (digit && (hex >= 6 || colons >= 2)) || (hex >= 8 && hex === c.length);
}

/** How a template shows values it has not yet seen vary: see TemplateMinerOptions.valueText. */
export type ValueText = 'literal' | 'masked' | 'segments';

/**
 * How a token is shown in a template before a second line says more. A whole value is `<*>`
 * inside its brackets and punctuation (`(0x02f0),` -> `(<*>),`; a number keeps its unit:
 * `5.2 KB` -> `<*> KB`). Other values are shown as written (`literal`); or, unless they are
 * quoted or a name with one small number (`ssh2`, `jk2_init()`, `eth0`), which stay as written
 * until they vary, as `<*>` (`masked`), or with the parts that hold digits as `<*>` and paths as
 * `<*>` (`segments`: `node-160` -> `node-<*>`, `core.2275` -> `core.<*>`).
 */
export function shapeOf(token: string, isValue: boolean, valueText: ValueText): string {
  if (!isValue) return token;
  const c = core(token);
  if (c === '') return token;
  const at = token.indexOf(c);
  const wrap = (inner: string): string => token.slice(0, at) + inner + token.slice(at + c.length);
  if (isNumeric(c)) {
    const space = c.indexOf(' ');
    return wrap(space > 0 ? WILDCARD + c.slice(space) : WILDCARD);
  }
  if (isHexId(c) || isDateWord(c)) return wrap(WILDCARD);
  if (valueText === 'literal' || QUOTE_CHARS.includes(token[0] as string) || isSmallNumberName(c)) return token;
  if (valueText === 'masked' || isPathOrUrl(c)) return wrap(WILDCARD);
  return wrap(maskSegments(c));
}

/** Letters with one run of one or two digits and no punctuation: more often a name (`ssh2`, `utf8`, `eth0`) than a value. */
function isSmallNumberName(c: string): boolean {
  if (c.length > 16) return false;
  let runs = 0;
  let run = 0;
  let letters = 0;
  for (let k = 0; k < c.length; k++) {
    const d = c.charCodeAt(k);
    if (isDigit(d)) {
      if (run === 0) runs++;
      run++;
      if (run > 2 || runs > 1) return false;
    } else {
      run = 0;
      if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122)) letters++;
      else if (d !== 95 && d !== 40 && d !== 41) return false; // _ ( )
    }
  }
  return runs === 1 && letters >= 2;
}

/** Punctuation that ends a part of a word for `segments` (a `-` only after a letter or digit: `_-5` is a negative number). */
const SEGMENT_ENDS = '.:@#+=,;|!$%&';

/** Each part of the word between punctuation that holds a digit becomes `<*>`: `node-160` -> `node-<*>`. */
function maskSegments(c: string): string {
  let out = '';
  let part = '';
  let digit = false;
  const flush = (): void => {
    if (part !== '' && !(digit && out.endsWith(WILDCARD))) out += digit ? WILDCARD : part;
    part = '';
    digit = false;
  };
  for (let k = 0; k < c.length; k++) {
    const ch = c[k] as string;
    const d = c.charCodeAt(k);
    const prev = k > 0 ? c.charCodeAt(k - 1) : 0;
    const dashEnd = d === 45 && (isDigit(prev) || (prev >= 65 && prev <= 90) || (prev >= 97 && prev <= 122));
    if (SEGMENT_ENDS.includes(ch) || dashEnd) {
      flush();
      out += ch;
      continue;
    }
    part += ch;
    if (isDigit(d)) digit = true;
  }
  flush();
  return out;
}
