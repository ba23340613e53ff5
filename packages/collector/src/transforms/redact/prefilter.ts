/**
 * One pass over a line that tells which families of rules can match at all, so that the
 * regular expressions run only on the few lines that could hold a secret (the per-line path
 * must stay cheap: most lines hold none).
 */
export const GATE_AT = 1;
export const GATE_DIGITS = 2;
export const GATE_SCHEME = 4;
export const GATE_KEYWORD = 8;
export const GATE_ALWAYS = GATE_AT | GATE_DIGITS | GATE_SCHEME | GATE_KEYWORD;

/**
 * Words that every keyword-based rule (keys, tokens, passwords, cloud and service token prefixes,
 * headers, command lines) needs. The words added last are as narrow as their rules allow, so that
 * common lines do not open the gate: `authorization` (not `authorized`: PostgreSQL's connection
 * lines), `curl ` (not `curl/7.85`: every access log's user agent); the database clients whose
 * command lines carry a password (`mysql -pX`, `redis-cli -a X`), redis's `masterauth X` (`sshpass`
 * and `requirepass` hold `pass`), a registry login (`docker login -p X`: `login` alone is in every
 * other line), a SendGrid key with its first part's length (`sg.` alone: every `msg.`; /i has no
 * way to ask for `SG` in capitals, the length does the narrowing). A word that begins with a space
 * or a class (` -u`, `\s-u`) made this test nearly twice as slow: the engine then tries it at every
 * position.
 */
/** The registry clients whose `login -p` is redacted (rules.ts); their name gates the line here. */
export const REGISTRY_CLIENTS = '(?:docker|podman|nerdctl|buildah|skopeo|oras)';

export const KEYWORDS = new RegExp(
  `pass|pwd|secret|key|token|bearer|basic|digest|eyJ|AIza|ya29\\.|sig(?:=|nature)|A[KSGIRN][IPDO]A|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|[rs]k_(?:live|test)_|npm_|hv[sbr]\\.|authorization|cookie|curl |mysql|mariadb|redis-cli|masterauth|\\bsg\\.[\\w-]{22}\\.|${REGISTRY_CLIENTS}["', \\t]{1,8}login`,
  'i',
);

/** Gates of a line: `@` (e-mail), 13+ digits grouped by single spaces or dashes (cards), `://` (URLs), keywords. */
export function scanGates(text: string): number {
  let gates = 0;
  let run = 0;
  let lastSep = false;
  let letters = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Letters and most punctuation first: the common case takes two comparisons.
    if (c > 58) {
      if (c === 64) gates |= GATE_AT;
      // (c | 32 folds an ASCII capital onto its small letter and leaves every other character off a..z)
      else if (!letters && (c | 32) >= 97 && (c | 32) <= 122) letters = true;
      run = 0;
      lastSep = false;
    } else if (c >= 48 && c <= 57) {
      lastSep = false;
      if (++run >= 13) gates |= GATE_DIGITS;
    } else if ((c === 32 || c === 45) && run > 0 && !lastSep) lastSep = true;
    else {
      run = 0;
      lastSep = false;
      if (c === 58 && text.charCodeAt(i + 1) === 47 && text.charCodeAt(i + 2) === 47) gates |= GATE_SCHEME;
    }
  }
  // Every keyword holds an ASCII letter, and without the u flag /i never folds another character
  // onto one: a text without letters (numbers, times, sizes: most field values) cannot match.
  if (letters && KEYWORDS.test(text)) gates |= GATE_KEYWORD;
  return gates;
}
