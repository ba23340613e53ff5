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
 * and `,`, so that `key=value,key=value` exposes its keys), cut at `maxTokens` so that one
 * pathological line costs a bounded amount of work. `masked[i]` is the wildcard where `tokens[i]`
 * holds a digit: a token with a digit is taken as a variable (numbers, ids, IPs, hex, times,
 * paths with numbers), the general pre-masking that lets one configuration fit every log instead
 * of per-dataset regexes.
 */
export function tokenizeMasked(
  message: string,
  maxTokens: number,
  separators: Uint8Array,
): { tokens: string[]; masked: string[] } {
  const tokens: string[] = [];
  const masked: string[] = [];
  const n = message.length;
  let start = -1;
  let digit = false;
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    if (c < 128 && separators[c] === 1) {
      if (start >= 0) {
        const tok = message.slice(start, i);
        tokens.push(tok);
        masked.push(digit ? WILDCARD : tok);
        if (tokens.length >= maxTokens) return { tokens, masked };
        start = -1;
      }
    } else {
      if (start < 0) {
        start = i;
        digit = false;
      }
      if (c >= 48 && c <= 57) digit = true;
    }
  }
  if (start >= 0) {
    const tok = message.slice(start);
    tokens.push(tok);
    masked.push(digit ? WILDCARD : tok);
  }
  return { tokens, masked };
}
