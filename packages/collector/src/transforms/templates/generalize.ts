import { WILDCARD } from './tokenize.js';

/**
 * A token's text as runs: the wildcard, a run of letters, a run of digits, or one other character.
 * `node-160` -> node | - | 160; `(<*>)` -> ( | <*> | ).
 */
function runs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith(WILDCARD, i)) {
      out.push(WILDCARD);
      i += WILDCARD.length;
      continue;
    }
    const cls = classOf(text.charCodeAt(i));
    let j = i + 1;
    if (cls !== 0) while (j < text.length && classOf(text.charCodeAt(j)) === cls && !text.startsWith(WILDCARD, j)) j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

/** 1 letters, 2 digits, 0 anything else (a run of one). */
function classOf(c: number): number {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return 1;
  if (c >= 48 && c <= 57) return 2;
  return 0;
}

/**
 * Runs back to text; wildcards next to each other are one, and so are wildcards with only spaces
 * or punctuation between them (`<*> <*>` of a number and its unit, `<*>-<*>`): what is left
 * constant there says nothing. Brackets around a wildcard (`(<*>)`) stay.
 */
function join(parts: string[]): string {
  let out = '';
  for (const p of parts) if (!(p === WILDCARD && out.endsWith(WILDCARD))) out += p;
  if (out.startsWith(WILDCARD) && out.endsWith(WILDCARD) && !/[A-Za-z0-9]/.test(out.split(WILDCARD).join('')))
    return WILDCARD;
  return out;
}

/**
 * The pattern of a template position that has held `pattern` (as written, or with `<*>` where it
 * varied) and now holds `text`: the parts the two share stay, the rest becomes `<*>`.
 * `node-160` + `node-2` -> `node-<*>`; `"View Lock"` + `"*launch*"` -> `"<*>"`; `root` + `admin`
 * -> `<*>`. Texts with the same runs are compared run by run, others keep their common first and
 * last runs. Whatever matched `pattern` before still matches the result, and so does `text`.
 */
export function generalize(pattern: string, text: string): string {
  if (pattern === text || pattern === WILDCARD) return pattern;
  const a = runs(pattern);
  const b = runs(text);
  if (a.length === b.length) {
    let same = 0;
    const out = a.map((r, i) => {
      if (r === b[i] && r !== WILDCARD) {
        same++;
        return r;
      }
      return WILDCARD;
    });
    if (same > 0) return join(out);
  }
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p] && a[p] !== WILDCARD) p++;
  let s = 0;
  while (
    s < a.length - p &&
    s < b.length - p &&
    a[a.length - 1 - s] === b[b.length - 1 - s] &&
    a[a.length - 1 - s] !== WILDCARD
  )
    s++;
  return join([...a.slice(0, p), WILDCARD, ...a.slice(a.length - s)]);
}

/**
 * The parts of `text` that the wildcards of a pattern stand for, in order; undefined when `text`
 * does not fit it. `pieces` is the pattern cut at its wildcards (`patternPieces`). The constant
 * pieces are matched left to right, each wildcard taking the shortest text up to the next piece
 * (the last one the rest).
 */
export function paramsOf(pieces: readonly string[], text: string): string[] | undefined {
  if (pieces.length === 1) return pieces[0] === text ? [] : undefined;
  const head = pieces[0] as string;
  const tail = pieces[pieces.length - 1] as string;
  if (text.length < head.length + tail.length || !text.startsWith(head) || !text.endsWith(tail)) return undefined;
  const out: string[] = [];
  let at = head.length;
  const end = text.length - tail.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return undefined;
    out.push(text.slice(at, found));
    at = found + piece.length;
  }
  out.push(text.slice(at, end));
  return out;
}

/** Whether `m[start..end)` fits the pattern cut into `pieces` (as `paramsOf` would find), without cutting the text out. */
export function fitsPattern(pieces: readonly string[], m: string, start: number, end: number): boolean {
  if (pieces.length === 1)
    return end - start === (pieces[0] as string).length && m.startsWith(pieces[0] as string, start);
  const head = pieces[0] as string;
  const tail = pieces[pieces.length - 1] as string;
  if (end - start < head.length + tail.length || !m.startsWith(head, start) || !m.startsWith(tail, end - tail.length))
    return false;
  let at = start + head.length;
  const stop = end - tail.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    const found = m.indexOf(piece, at);
    if (found < 0 || found + piece.length > stop) return false;
    at = found + piece.length;
  }
  return true;
}

/** A pattern cut at its wildcards, for `paramsOf`. */
export function patternPieces(pattern: string): string[] {
  return pattern.split(WILDCARD);
}
