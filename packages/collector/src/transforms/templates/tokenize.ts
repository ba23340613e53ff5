/** The token that stands for a variable part of a line. */
export const WILDCARD = '<*>';

/**
 * A message cut into tokens: token i is `message.slice(start[i], end[i])` (`textAt`), the text
 * between tokens is what lies between them (`sepBefore`, `sepAfter`), so that a template can be
 * shown as written. `key[i]` is what matching compares: the token itself for a word, WILDCARD for
 * a value (see `tokenize`). Offsets rather than strings: a value's text is cut out only when it
 * is wanted (a parameter), most lines' separators never.
 */
export interface Tokens {
  message: string;
  key: string[];
  start: number[];
  end: number[];
  /** Where the mined text ends (the message's length, unless `maxTokens` cut it short). */
  last: number;
}

export function textAt(t: Tokens, i: number): string {
  return t.message.slice(t.start[i], t.end[i]);
}

/** The text before token i (after the previous one; the message's start for the first). */
export function sepBefore(t: Tokens, i: number): string {
  const a = i === 0 ? 0 : (t.end[i - 1] as number);
  const b = t.start[i] as number;
  return b === a + 1 && t.message.charCodeAt(a) === 32 ? ' ' : t.message.slice(a, b);
}

/** The text after token i, up to the next one (or the end of what was mined). */
export function sepAfter(t: Tokens, i: number): string {
  return i + 1 < t.key.length ? sepBefore(t, i + 1) : t.message.slice(t.end[i], t.last);
}

/** What `tokenize` cuts at and which optional value kinds it masks, built once from the miner's options. */
export interface TokenRules {
  separators: Uint8Array;
  /** Names with two dots or more (`api.example.com`, `org.example.Client`) are values. */
  dottedNames: boolean;
}

const SPACE = 1;
const PUNCT = 2;

export function tokenRules(punctuation: string, dottedNames: boolean): TokenRules {
  const separators = new Uint8Array(128);
  for (const c of [9, 10, 11, 12, 13, 32]) separators[c] = SPACE;
  for (let i = 0; i < punctuation.length; i++) {
    const c = punctuation.charCodeAt(i);
    if (c < 128 && c > 32) separators[c] = PUNCT;
  }
  return { separators, dottedNames };
}

const kindOf = (table: Uint8Array, c: number): number => (c < 128 ? (table[c] as number) : 0);

/** Character classes a word's scan gathers (ASCII): what decides whether it needs a closer look as a value. */
const DIGIT = 1;
const LETTER = 2;
/** `.`, `/`, `\`: a path, URL, file or dotted name may be there. */
const PATHISH = 4;
/** Anything but a hex letter (a word of hex letters only, eight or more, is a value). */
const NON_HEX = 8;
const CLASS = new Uint8Array(128).map((_, c) => {
  if (c >= 48 && c <= 57) return DIGIT | NON_HEX;
  if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) return LETTER;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return LETTER | NON_HEX;
  if (c === 46 || c === 47 || c === 92) return PATHISH | NON_HEX;
  return NON_HEX;
});
/** First characters of the units (`ns`, `µs` aside: not ASCII, looked up anyway through UNITS). */
const UNIT_START = new Uint8Array(256).map((_, c) => ('nuµmshdBbKkMGTP'.includes(String.fromCharCode(c)) ? 1 : 0));
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isQuote = (c: number): boolean => c === 34 || c === 39 || c === 96; // " ' `
/** Brackets and quotes a token may start with. */
const isLead = (c: number): boolean => c === 40 || c === 91 || c === 123 || c === 60 || c === 34 || c === 39;
/** Brackets, quotes and punctuation a token may end with. */
const isTrail = (c: number): boolean =>
  c === 41 ||
  c === 93 ||
  c === 125 ||
  c === 62 ||
  c === 34 ||
  c === 39 ||
  c === 46 ||
  c === 44 ||
  c === 59 ||
  c === 58 ||
  c === 33 ||
  c === 63;
/** Characters that may follow the quote that closes a quoted value. */
const isAfterQuote = (c: number): boolean =>
  c === 32 ||
  c === 9 ||
  c === 61 ||
  c === 44 ||
  c === 41 ||
  c === 93 ||
  c === 125 ||
  c === 62 ||
  c === 46 ||
  c === 59 ||
  c === 58 ||
  c === 33 ||
  c === 63;
/** A quoted value longer than this is not looked for (bounds per-line work). */
const MAX_QUOTED = 512;

/** Units written after a number as a word of their own ("5.2 KB", "3 sec"): number and unit are one value. */
export const UNITS = new Set([
  ...['ns', 'us', 'µs', 'ms', 's', 'sec', 'secs', 'second', 'seconds', 'min', 'mins', 'minute', 'minutes'],
  ...['h', 'hr', 'hrs', 'hour', 'hours', 'd', 'day', 'days'],
  ...['B', 'b', 'byte', 'bytes', 'KB', 'kB', 'KiB', 'MB', 'MiB', 'GB', 'GiB', 'TB', 'TiB', 'PB'],
]);

/** Month and weekday names: a date when next to a number or another of them ("Sun Dec 04 04:47:44 2005"). */
const DATE_WORDS = new Set([
  ...['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Sept', 'Oct', 'Nov', 'Dec'],
  ...['January', 'February', 'March', 'April', 'June', 'July', 'August', 'September', 'October', 'November'],
  ...['December', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun', 'Monday', 'Tuesday', 'Wednesday'],
  ...['Thursday', 'Friday', 'Saturday', 'Sunday'],
]);

/**
 * Extensions of file names that logs write bare (`nginx.service:`, `chrome.exe`, `app.yaml`):
 * a file name is a value like a path, not a word of the message.
 */
const EXTENSIONS = new Set([
  ...['service', 'socket', 'timer', 'mount', 'target', 'exe', 'dll', 'so', 'sys', 'jar', 'war', 'class', 'py'],
  ...['go', 'java', 'js', 'ts', 'rb', 'sh', 'c', 'cc', 'cpp', 'h', 'rs', 'conf', 'cfg', 'ini', 'yaml', 'yml'],
  ...['json', 'xml', 'toml', 'properties', 'log', 'txt', 'csv', 'pid', 'sock', 'lock', 'tmp', 'bak', 'gz'],
  ...['zip', 'tar', 'tgz', 'pem', 'crt', 'key', 'db', 'sqlite', 'html', 'css', 'png', 'jpg', 'ico', 'pdf'],
]);

/** The word inside brackets, quotes and trailing punctuation: `[Sun` -> `Sun`, `(KB),` -> `KB`. */
export function core(token: string): string {
  let a = 0;
  let b = token.length;
  while (a < b && isLead(token.charCodeAt(a))) a++;
  while (b > a && isTrail(token.charCodeAt(b - 1))) b--;
  return token.slice(a, b);
}

/**
 * Cuts a message into tokens at whitespace and the configured punctuation (`=` and `,` expose the
 * keys of `k=v,k=v`), and after a label (`vCores:1`). A token is a value, matched by any other
 * value, when it holds a digit (numbers, ids, addresses, times, sizes), is a path or URL, a hex
 * string of eight letters or more, a file name (`nginx.service`), a dotted name when the rules
 * say so, a month or day name next to a number, or an empty `key=` value (so that `ruser=` and
 * `ruser=bob` have the same tokens). Values that would otherwise vary in length are kept whole:
 * a quoted string is one token however many words it holds (a value when it starts with one,
 * else matched by its words with their values masked: `"GET <*> <*>"`), a number and its unit
 * are one (`5.2 KB`, `3 sec`), and a URL or path is not cut at its `=` and `,`. At most
 * `maxTokens` tokens are kept: one pathological line costs a bounded amount of work.
 */
export function tokenize(message: string, maxTokens: number, rules: TokenRules): Tokens {
  const separators = rules.separators;
  // Fresh arrays for every line: a buffer reused across lines would live long enough to drag
  // every line's words into the old generation of the heap.
  const out: Tokens = { message, key: [], start: [], end: [], last: 0 };
  const { key, start: starts, end: ends } = out;
  const n = message.length;
  /** Index of a month or day name that a following value would make part of a date (-2: none). */
  let pendingDate = -2;
  let i = 0;
  while (i < n && key.length < maxTokens) {
    const c = message.charCodeAt(i);
    const s = kindOf(separators, c);
    if (s !== 0) {
      // `key=` followed by whitespace: an empty value, so that the line has the tokens of `key=value`.
      if (c === 61 && s === PUNCT && i > 0 && kindOf(separators, message.charCodeAt(i - 1)) === 0) {
        const next = i + 1 < n ? message.charCodeAt(i + 1) : 32;
        if (kindOf(separators, next) === SPACE) {
          key.push(WILDCARD);
          starts.push(i + 1);
          ends.push(i + 1);
        }
      }
      i++;
      continue;
    }
    const start = i;
    if (isQuote(c)) {
      const close = closingQuote(message, i, c);
      if (close > 0) {
        key.push(quotedKey(message.slice(start, close + 1), rules.dottedNames));
        starts.push(start);
        ends.push(close + 1);
        i = close + 1;
        continue;
      }
    }
    // One whitespace-delimited word, cut at the configured punctuation unless what comes before
    // the cut is a URL or a path (its query string stays in it), and after a label (`vCores:1`).
    let end = i;
    let cut = -1;
    let label = -1;
    let flags = 0;
    let cutFlags = 0;
    while (end < n) {
      const d = message.charCodeAt(end);
      if (d < 128) {
        const k = separators[d] as number;
        if (k === SPACE) break;
        // A comma between digits is part of the number (`1,024`, the milliseconds of `18:01:47,978`).
        if (
          k === PUNCT &&
          cut < 0 &&
          !(d === 44 && isDigit(message.charCodeAt(end - 1)) && isDigit(message.charCodeAt(end + 1)))
        ) {
          cut = end;
          cutFlags = flags;
        }
        if (
          d === 58 &&
          label < 0 &&
          cut < 0 &&
          (flags & (LETTER | DIGIT)) === LETTER &&
          isLabelEnd(message, end, separators)
        )
          label = end;
        flags |= CLASS[d] as number;
      } else flags |= NON_HEX;
      end++;
    }
    if (label >= 0 && !isValueRange(message, start, label, rules.dottedNames)) {
      // `key:value`: the key is a word, the `:` goes with the separators (`main.go:12` is one value).
      key.push(message.slice(start, label));
      starts.push(start);
      ends.push(label);
      i = label + 1;
      continue;
    }
    if (cut >= 0 && ((cutFlags & PATHISH) === 0 || !isPathOrUrlRange(message, start, cut))) {
      end = cut;
      flags = cutFlags;
    }
    i = end;
    // Most words hold no digit, dot or slash and are not long hex runs: no closer look needed.
    const value =
      (flags & DIGIT) !== 0 ||
      ((flags & NON_HEX) === 0 && end - start >= 8) ||
      ((flags & PATHISH) !== 0 && isValueRange(message, start, end, rules.dottedNames));
    const last = key.length - 1;
    if (value) {
      key.push(WILDCARD);
      starts.push(start);
      ends.push(end);
      // A month or day name just before a value is part of a date.
      if (last === pendingDate) key[last] = WILDCARD;
      continue;
    }
    const f = message.charCodeAt(start);
    if (
      last >= 0 &&
      key[last] === WILDCARD &&
      start === (ends[last] as number) + 1 &&
      message.charCodeAt(start - 1) === 32 &&
      UNIT_START[f] === 1 &&
      isUnitAfter(message.slice(start, end), message.slice(starts[last], ends[last]))
    ) {
      // A number and its unit are one value: `5.2`, ` `, `KB` -> `5.2 KB`.
      ends[last] = end;
      continue;
    }
    const t = message.slice(start, end);
    key.push(t);
    starts.push(start);
    ends.push(end);
    if (mayBeDateWord(message, start, end) && DATE_WORDS.has(core(t))) {
      // A month or day name after a value or another such name is part of a date (and so is that one).
      if (last >= 0 && (key[last] === WILDCARD || last === pendingDate)) {
        key[last + 1] = WILDCARD;
        if (last === pendingDate) key[last] = WILDCARD;
      }
      pendingDate = last + 1;
    }
  }
  out.last = key.length >= maxTokens ? (ends[key.length - 1] as number) : n;
  return out;
}

/** `Dec`, `[Sun`, `Monday,`: a capital, then a small letter, three to nine letters (cheap test before the lookup). */
function mayBeDateWord(m: string, start: number, end: number): boolean {
  let a = start;
  if (isLead(m.charCodeAt(a))) a++;
  const f = m.charCodeAt(a);
  const g = m.charCodeAt(a + 1);
  return f >= 65 && f <= 90 && g >= 97 && g <= 122 && end - a >= 3 && end - a <= 10;
}

/** `unit` (as written, brackets and punctuation aside) is a unit and `number` a number it may follow. */
function isUnitAfter(unit: string, number: string): boolean {
  return unit.length <= 9 && (UNITS.has(unit) || UNITS.has(core(unit))) && isNumber(core(number));
}

/** Index of the quote that closes the one at `open`: followed by whitespace, punctuation or the end; -1 if none. */
function closingQuote(message: string, open: number, quote: number): number {
  const last = Math.min(message.length, open + MAX_QUOTED);
  for (let j = open + 1; j < last; j++) {
    if (message.charCodeAt(j) !== quote) continue;
    if (j + 1 >= message.length || isAfterQuote(message.charCodeAt(j + 1))) return j;
  }
  return -1;
}

/**
 * A quoted string is one token however many words it holds. When it starts with a value (a user
 * agent, a path, a time) or holds no letter (`"-"`), it is a value; otherwise what it is matched
 * by is its words with their values masked (`"GET <*> <*>"`, `"retry <*> of <*>"`): a quoted
 * message is an event of its own, a quoted name a parameter once it takes many values, like any word.
 */
function quotedKey(t: string, dotted: boolean): string {
  const words = t
    .slice(1, -1)
    .split(/\s+/)
    .filter((w) => w !== '');
  const value = (w: string): boolean => isValueRange(w, 0, w.length, dotted);
  if (words.length === 0 || value(words[0] as string) || !/[A-Za-z]/.test(t)) return WILDCARD;
  let inner = '';
  for (const w of words) inner += (inner === '' ? '' : ' ') + (value(w) ? WILDCARD : w);
  return t[0] + inner + t[0];
}

/** A `:` after a word ends a label when a value follows at once (not `::`, `:/` or `:\` of addresses and paths). */
function isLabelEnd(message: string, at: number, separators: Uint8Array): boolean {
  if (at + 1 >= message.length) return false;
  const next = message.charCodeAt(at + 1);
  return next !== 58 && next !== 47 && next !== 92 && kindOf(separators, next) === 0;
}

/**
 * Whether `message[a..b)` is a value: a digit in it, a path or URL, eight hex letters or more, a
 * file name with a known extension, or (`dotted`) a name with two dots or more. One pass.
 */
function isValueRange(m: string, a: number, b: number, dotted: boolean): boolean {
  let ca = a;
  let cb = b;
  while (ca < cb && isLead(m.charCodeAt(ca))) ca++;
  while (cb > ca && isTrail(m.charCodeAt(cb - 1))) cb--;
  let slash = false;
  let dots = 0;
  let lastDot = -1;
  let hexOnly = true;
  for (let k = a; k < b; k++) {
    const d = m.charCodeAt(k);
    if (isDigit(d)) return true;
    if (d === 47 || d === 92) slash = true;
    else if (d === 46 && k > ca && k < cb - 1) {
      lastDot = k;
      if (m.charCodeAt(k - 1) !== 46 && m.charCodeAt(k + 1) !== 46) dots++;
    }
    if (hexOnly && !((d >= 97 && d <= 102) || (d >= 65 && d <= 70))) hexOnly = false;
  }
  if (slash && isPathOrUrlRange(m, a, b)) return true;
  if (hexOnly && b - a >= 8) return true;
  if (lastDot > 0 && EXTENSIONS.has(m.slice(lastDot + 1, cb).toLowerCase())) return true;
  return dotted && dots >= 2;
}

/** A URL (`scheme://`) or a path (`/a`, `./a`, `~/a`, `C:\a`, `a/b/c`: two slashes or more; one alone is often prose, "and/or"). */
function isPathOrUrlRange(m: string, a: number, b: number): boolean {
  let ca = a;
  while (ca < b && isLead(m.charCodeAt(ca))) ca++;
  const first = m.charCodeAt(ca);
  if (first === 47 || first === 92) return true;
  if ((first === 46 || first === 126) && (m.charCodeAt(ca + 1) === 47 || m.charCodeAt(ca + 2) === 47)) return true;
  if (isLetter(first) && m.charCodeAt(ca + 1) === 58 && m.charCodeAt(ca + 2) === 92) return true;
  let slashes = 0;
  for (let k = ca; k < b; k++) {
    const d = m.charCodeAt(k);
    if (d === 58 && m.charCodeAt(k + 1) === 47 && m.charCodeAt(k + 2) === 47 && k + 2 < b) return true;
    if (d === 47 && ++slashes >= 2) return true;
  }
  return false;
}

/** A path or URL (see `tokenize`), for a whole string. */
export function isPathOrUrl(w: string): boolean {
  return isPathOrUrlRange(w, 0, w.length);
}

/** `12`, `-3.5`, `<1` (a number a unit may follow). */
function isNumber(s: string): boolean {
  let k = 0;
  const f = s.charCodeAt(0);
  if (f === 45 || f === 43 || f === 60 || f === 62 || f === 126) k++;
  if (k >= s.length) return false;
  for (; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c) && c !== 46) return false;
  }
  return true;
}
