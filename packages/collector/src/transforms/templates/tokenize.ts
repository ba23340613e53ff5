/** The token that stands for a variable part of a line. */
export const WILDCARD = '<*>';

/** Builds the separator lookup for `tokenize`: whitespace plus the given punctuation. */
export function separatorTable(punctuation: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of [9, 10, 11, 12, 13, 32]) table[c] = 1;
  for (let i = 0; i < punctuation.length; i++) {
    const c = punctuation.charCodeAt(i);
    if (c < 128) table[c] = 1;
  }
  return table;
}

/**
 * Splits a message into tokens at separators (whitespace and configured punctuation such as `=`
 * and `,`, so that `key=value,key=value` exposes its keys). Cut at `maxTokens` so that one
 * pathological line cannot cost more than a bounded amount of work.
 */
export function tokenize(message: string, maxTokens: number, separators: Uint8Array): string[] {
  const out: string[] = [];
  const n = message.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    if (c < 128 && separators[c] === 1) {
      if (start >= 0) {
        out.push(message.slice(start, i));
        if (out.length >= maxTokens) return out;
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(message.slice(start));
  return out;
}

/**
 * A token is taken as a variable when it holds a digit (numbers, ids, IPs, hex, timestamps,
 * paths with numbers): the general pre-masking that makes one configuration fit every log,
 * instead of per-dataset regexes.
 */
export function isVariableToken(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}
