import { luhnValid } from './luhn.js';
import { GATE_AT, GATE_DIGITS, GATE_KEYWORD, GATE_SCHEME } from './prefilter.js';

/**
 * One kind of secret. `pattern` is global; `keep` is the number of leading capture groups kept
 * verbatim (a key name, `Bearer `, a URL's user) so that the line stays readable; `confirm` can
 * veto a match (the Luhn check for card numbers).
 */
export interface RedactRule {
  kind: string;
  pattern: RegExp;
  /** Which gate of `scanGates` a line must open for this rule to run. */
  gate: number;
  /** Cheap substring test that must hold before the regular expression runs (hot path). */
  hint?: RegExp;
  keep?: number;
  confirm?: (match: string) => boolean;
}

/**
 * Built-in rules, most specific first so that a private key or JWT is named as such before the
 * generic key=value rule sees it.
 */
export function builtinRules(): RedactRule[] {
  return [
    {
      kind: 'private_key',
      gate: GATE_KEYWORD,
      pattern:
        /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
      hint: /PRIVATE KEY/,
    },
    {
      kind: 'jwt',
      gate: GATE_KEYWORD,
      pattern: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}/g,
      hint: /eyJ/,
    },
    {
      kind: 'bearer',
      gate: GATE_KEYWORD,
      pattern: /(\b(?:Bearer|Basic|Token|Digest)\s+)[A-Za-z0-9._~+/-]{8,}=*/g,
      hint: /Bearer|Basic|Token|Digest/,
      keep: 1,
    },
    {
      kind: 'url_password',
      gate: GATE_SCHEME,
      pattern: /(\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+(?=@)/g,
      hint: /:\/\//,
      keep: 1,
    },
    {
      kind: 'aws_access_key',
      gate: GATE_KEYWORD,
      pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g,
      hint: /A[KSGIRN][IPDO]A/,
    },
    {
      kind: 'aws_secret_key',
      gate: GATE_KEYWORD,
      pattern: /(\baws_?secret_?(?:access_?)?key["']?\s*[=:]\s*["']?)[A-Za-z0-9/+]{40}\b/gi,
      hint: /[sS][eE][cC][rR][eE][tT]/,
      keep: 1,
    },
    { kind: 'gcp_api_key', gate: GATE_KEYWORD, pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, hint: /AIza/ },
    { kind: 'gcp_oauth_token', gate: GATE_KEYWORD, pattern: /\bya29\.[0-9A-Za-z_-]{20,}/g, hint: /ya29\./ },
    {
      // Tokens that name their issuer by a fixed prefix, found with no key before them (a command
      // line, a URL, a pasted header): GitHub (ghp_ gho_ ghu_ ghs_ ghr_, github_pat_), GitLab
      // (glpat-), Slack (xoxa- xoxb- xoxp- xoxr- xoxs-), Stripe (sk_/rk_ live or test) and npm.
      // Lengths are the issuers' own, so that a word such as `npm_config` is left alone.
      kind: 'service_token',
      gate: GATE_KEYWORD,
      pattern:
        /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|npm_[A-Za-z0-9]{36})\b/g,
      hint: /gh[pousr]_|github_pat_|glpat-|xox[abprs]-|k_live_|k_test_|npm_/,
    },
    {
      kind: 'azure_key',
      gate: GATE_KEYWORD,
      pattern: /(\b(?:AccountKey|SharedAccessKey|sig)=)[A-Za-z0-9%+/]{20,}={0,2}/g,
      hint: /AccountKey|SharedAccessKey|sig=/,
      keep: 1,
    },
    ...keyValueRules({
      kind: 'password',
      // Any value after a password-like key; quoted values are taken whole.
      words: 'password|passwd|pwd|pass|secret|client_secret|private_key',
      camelWords: 'Password|Passwd|Pass|Pwd|Secret',
      suffix: '(?:[_.-]?key)?',
      keyEnd: `["']?\\s*[=:]\\s*`,
      value: `(?!\\[REDACTED|"\\[REDACTED)(?:"[^"]*"|'[^']*'|[^\\s,;&"'}]+)`,
      hint: /[pP][aA][sS][sS]|[pP][wW][dD]|[sS][eE][cC][rR][eE][tT]|[pP][rR][iI][vV][aA][tT][eE]_/,
    }),
    // Token-like keys only with a value that looks generated (12+ characters with a digit), so
    // that object dumps such as `token=Token{a64f992 ...}` or `token: android.os.BinderProxy@...`
    // are left alone.
    ...keyValueRules({
      kind: 'token',
      words: 'api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|x-api-key',
      camelWords: 'Token|ApiKey',
      suffix: '',
      keyEnd: `["']?\\s*[=:]\\s*["']?`,
      value: `(?!\\[REDACTED)(?=[A-Za-z._~+/-]*\\d)[A-Za-z0-9._~+/-]{12,}=*(?![{([@\\w])`,
      hint: /[kK][eE][yY]|[tT][oO][kK][eE][nN]/,
    }),
    {
      kind: 'email',
      gate: GATE_AT,
      pattern:
        /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g,
      hint: /@/,
    },
    {
      kind: 'card_number',
      gate: GATE_DIGITS,
      // Brand prefixes and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners), digits grouped
      // by spaces or dashes, then confirmed by Luhn: long ids and counters rarely pass all three.
      pattern:
        /(?<![\w.+-])(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6(?:011|5\d{2})|35\d{2}|3[068]\d{2})(?:[ -]?\d){9,15}(?![\w.])/g,
      hint: /\d{4}[ -]?\d{4}[ -]?\d{4}/,
      confirm: (m) => {
        let digits = 0;
        for (let i = 0; i < m.length; i++) if (m.charCodeAt(i) >= 48 && m.charCodeAt(i) <= 57) digits++;
        return digits >= 13 && digits <= 19 && luhnValid(m);
      },
    },
  ];
}

/**
 * Where a key word may begin: not after a letter or digit, so after `_`, `.` or `-` too.
 * Environment variables and configuration keys name their secrets after other segments
 * (`DB_PASSWORD=`, `APP_DB_PRIMARY_REPLICA_USER_PASSWORD=`, `spring.datasource.password`), which
 * `\b` misses (`_` is a word character) and a bounded count of segments missed past its bound;
 * `bypass=` and `compass:` still do not begin one. A lookbehind of one character keeps it linear.
 */
const KEY_START = '(?<![A-Za-z0-9])';

/**
 * The two rules of a key=value kind: `words` at a KEY_START, any case (`DB_PASSWORD`,
 * `db.password`), and `camelWords` ending a camelCase key (`userPassword`, `sessionToken`), case as
 * written: with /i a camel boundary cannot be told, and `bypass=` would pass for a password key.
 * The key group (kept) ends with `keyEnd`, the `=` or `:`; `value` is what is redacted.
 */
function keyValueRules(o: {
  kind: string;
  words: string;
  camelWords: string;
  suffix: string;
  keyEnd: string;
  value: string;
  hint: RegExp;
}): RedactRule[] {
  return [
    {
      kind: o.kind,
      gate: GATE_KEYWORD,
      pattern: new RegExp(`(${KEY_START}(?:${o.words})${o.suffix}${o.keyEnd})${o.value}`, 'gi'),
      hint: o.hint,
      keep: 1,
    },
    {
      kind: o.kind,
      gate: GATE_KEYWORD,
      pattern: new RegExp(`(\\b[a-z][A-Za-z0-9]{0,40}(?:${o.camelWords})${o.keyEnd})${o.value}`, 'g'),
      hint: o.hint,
      keep: 1,
    },
  ];
}
