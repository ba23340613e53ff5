import { WILDCARD } from './tokenize.js';

/** Characters that end a word for the template normalisation (Khan et al., ICSE'22, as Loghub-2.0 applies it). */
const DELIMITERS = new Set([...' \t\n\r\f\v,!;:=|"\'[](){}.-+@#$%&']);

/** Pairs of parameters joined by one of these characters stand for one parameter. */
const JOINED = ['<*>:<*>', '<*>#<*>', '<*>/<*>', '<*>@<*>', '<*>.<*>'];

function replaceAll(text: string, from: string, to: string): string {
  let out = text;
  while (out.includes(from)) out = out.split(from).join(to);
  return out;
}

/**
 * The usual `<*>` normalisation of a template before templates are compared (the Loghub-2.0
 * evaluation's post-processing, after Khan et al., "Guidelines for Assessing the Accuracy of Log
 * Message Template Identification Techniques", ICSE'22): whitespace runs become one space; a word
 * of digits or a word holding a `<*>` (words end at spaces and punctuation, `/` excepted) becomes
 * `<*>`; parameters separated only by `.`, `:`, `#`, `/`, `@` or nothing become one; a quoted
 * `<*>` between spaces loses its quotes. Applied to both sides, so that `<*>:<*>` and `<*>`, or
 * `blk_<*>` and `<*>`, count as the same template.
 */
export function normalizeTemplate(template: string): string {
  const t = template.trim().replace(/\s+/g, ' ');
  let out = '';
  let word = '';
  const flush = (): void => {
    if (word === '') return;
    if (/^\d+$/.test(word)) out += WILDCARD;
    else if (word.includes(WILDCARD) && !word.includes('/')) out += WILDCARD;
    else out += word;
    word = '';
  };
  for (const c of t) {
    if (DELIMITERS.has(c)) {
      flush();
      out += c;
    } else word += c;
  }
  flush();
  out = replaceAll(out, '<*>.<*>', WILDCARD);
  out = replaceAll(out, '<*><*>', WILDCARD);
  out = replaceAll(out, ' #<*># ', ' <*> ');
  out = replaceAll(out, ' #<*> ', ' <*> ');
  for (const j of JOINED) out = replaceAll(out, j, WILDCARD);
  out = replaceAll(out, ' "<*>" ', ' <*> ');
  out = replaceAll(out, " '<*>' ", ' <*> ');
  return replaceAll(out, '<*><*>', WILDCARD);
}

/**
 * Parsing accuracy (Loghub-2.0's PA): the fraction of messages whose mined template equals their
 * ground-truth template, both normalised by `normalizeTemplate`.
 */
export function parsingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new RangeError('predicted and truth differ in length');
  if (predicted.length === 0) return 1;
  const memo = new Map<string, string>();
  const norm = (t: string): string => {
    let n = memo.get(t);
    if (n === undefined) memo.set(t, (n = normalizeTemplate(t)));
    return n;
  };
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (norm(predicted[i] as string) === norm(truth[i] as string)) correct++;
  return correct / predicted.length;
}
