import { luhnValid } from './luhn.js';
import { GATE_AT, GATE_DIGITS, GATE_KEYWORD, GATE_SCHEME, REGISTRY_CLIENTS } from './prefilter.js';

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
  /**
   * The rule runs only on the arguments of each command this (global) pattern names, from after
   * the name to the command's end (command-line.ts): a client's options follow its name, and end
   * with its command. A pattern reaching back from an option to the name would be quadratic in a
   * line naming the client many times.
   */
  command?: RegExp;
  keep?: number;
  confirm?: (match: string) => boolean;
  /** Rewrites what follows the kept groups (`key`) instead of replacing it by the label (a cookie header keeps its names). */
  rewrite?: (secret: string, label: string, key: string) => string;
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
      // Starts only where a run of the token's characters starts: with `\b`, every `eyJ` after a
      // `-` in one run was a start that followed the run to its end (`eyJ-eyJ-…`: quadratic).
      pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}/g,
      hint: /eyJ/,
    },
    {
      // An Authorization header in any case, as clients, proxies and frameworks print it: a scheme
      // (kept) and the credentials whatever they look like (`authorization: token …`, `SSWS …`), or
      // without a scheme a value that looks generated, so that `Authorization: denied` stays.
      kind: 'bearer',
      gate: GATE_KEYWORD,
      pattern: new RegExp(
        `(${AUTHORIZATION}(?:(?:${AUTH_SCHEMES})[ \\t]+)?)(?!\\[REDACTED)` +
          `(?:(?<=(?:${AUTH_SCHEMES})[ \\t]{1,${GAP}})[A-Za-z0-9._~+/-]{6,}=*|${GENERATED})`,
        'gi',
      ),
      hint: /authorization/i,
      keep: 1,
    },
    {
      // A scheme with its credentials anywhere; `bearer` in other cases is also a word (`the bearer
      // of`): after it only a value that looks generated.
      kind: 'bearer',
      gate: GATE_KEYWORD,
      pattern: new RegExp(
        `(\\b(?:Bearer|Basic|Token|Digest|[bB][eE][aA][rR][eE][rR])\\s+)(?!\\[REDACTED)` +
          `(?:(?<=\\b(?:Bearer|Basic|Token|Digest)\\s{1,${GAP}})[A-Za-z0-9._~+/-]{8,}=*|${GENERATED})`,
        'g',
      ),
      hint: /Bearer|Basic|Token|Digest|[bB][eE][aA][rR][eE][rR]/,
      keep: 1,
    },
    {
      // The password runs to the authority's last `@` (`p@ss:w0rd` whole); the user may be empty
      // (`redis://:secret@host`).
      kind: 'url_password',
      gate: GATE_SCHEME,
      pattern: /((?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@?#]*:)(?!\[REDACTED)[^\s/?#]+(?=@)/g,
      hint: /:\/\//,
      keep: 1,
    },
    {
      // A webhook URL is its own credential: whoever has it can post as the integration. Slack's
      // (`hooks.slack.com/services/T…/B…/<secret>`, workflows, triggers) and Discord's
      // (`/api/webhooks/<id>/<token>`) are printed by alerting tools when a post fails.
      kind: 'service_token',
      gate: GATE_SCHEME,
      pattern:
        /(\bhttps?:\/\/(?:hooks\.slack\.com\/(?:services|workflows|triggers)\/|(?:\w+\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/))(?!\[REDACTED)[A-Za-z0-9/_-]+/g,
      hint: /hooks\.slack\.com|discord(?:app)?\.com\/api\/webhooks/,
      keep: 1,
    },
    {
      // `curl -u user:password` (and --user, -U/--proxy-user), quoted whole when quoted; on a line
      // that names curl (the hint), not by scanning from `curl` to the option: that was quadratic in
      // a line of many `curl`s.
      kind: 'basic_auth',
      gate: GATE_KEYWORD,
      pattern:
        /((?<!\S)(?:-u|--user|-U|--proxy-user)(?:[ \t]+|=)?(?:"[^"\s:]*:|'[^'\s:]*:|[^\s:"']+:))(?!\[REDACTED)(?:(?<=["'][^\s:"']*:)[^"'\r\n]+|(?<!["'][^\s:"']*:)[^\s"']+)/g,
      hint: /curl /,
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
      // Also as a command line writes it (`--aws-secret-access-key=`, `aws configure set aws_secret_access_key …`).
      pattern: /(\baws[_-]?secret[_-]?(?:access[_-]?)?key["']?(?:\s*[=:]\s*|\s+)["']?)[A-Za-z0-9/+]{40}\b/gi,
      hint: /[sS][eE][cC][rR][eE][tT]/,
      keep: 1,
    },
    { kind: 'gcp_api_key', gate: GATE_KEYWORD, pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, hint: /AIza/ },
    { kind: 'gcp_oauth_token', gate: GATE_KEYWORD, pattern: /\bya29\.[0-9A-Za-z_-]{20,}/g, hint: /ya29\./ },
    {
      // Tokens that name their issuer by a fixed prefix, found with no key before them (a command
      // line, a URL, a pasted header): GitHub (ghp_ gho_ ghu_ ghs_ ghr_, github_pat_), GitLab
      // (glpat-), Slack (xoxa- xoxb- xoxp- xoxr- xoxs-), Stripe (sk_/rk_ live or test), npm and
      // HashiCorp Vault (hvs. hvb. hvr.). Lengths are the issuers' own, so that a word such as
      // `npm_config` is left alone.
      kind: 'service_token',
      gate: GATE_KEYWORD,
      pattern:
        /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|npm_[A-Za-z0-9]{36}|hv[sbr]\.[A-Za-z0-9_-]{24,})\b/g,
      hint: /gh[pousr]_|github_pat_|glpat-|xox[abprs]-|k_live_|k_test_|npm_|hv[sbr]\./,
    },
    {
      // SendGrid's API keys (`SG.` and two base64url parts of fixed lengths), which mail code passes
      // as it is and which nothing else shapes so: found anywhere, whole runs of the alphabet only.
      kind: 'service_token',
      gate: GATE_KEYWORD,
      pattern: /(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
      hint: /SG\./,
    },
    {
      kind: 'azure_key',
      gate: GATE_KEYWORD,
      pattern: /(\b(?:AccountKey|SharedAccessKey|sig)=)[A-Za-z0-9%+/]{20,}={0,2}/g,
      hint: /AccountKey|SharedAccessKey|sig=/,
      keep: 1,
    },
    {
      // Long options whose next argument is a password (`docker login --password x`, redis-cli's
      // `--pass x`, keytool's `-storepass x`), not before another option (`--password --user bob`),
      // nor `--password-stdin`; or with `=` (`--password=x`): one shell word, `,` `;` `&` included
      // (an argument's value, where the key=value rule would stop at them and leave the rest). Before
      // the key=value rules, which would take `--password=` first.
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /-pass|storepass|keypass/,
      pattern: new RegExp(
        `((?<![^\\s"'\\[(,])(?:--(?:password|passwd|pass)|-(?:src|dest)?(?:store|key)pass)(?:${ARG_SEP}(?!-)|=["']?))${ARG_VALUE}`,
        'g',
      ),
      keep: 1,
    },
    ...keyValueRules({
      kind: 'password',
      // Any value after a password-like key (PASSWORD_VALUE).
      words: 'password|passwd|passphrase|pwd|pass|secret|client_secret|private_key|requirepass|masterauth',
      camelWords: 'Password|Passwd|Passphrase|Pass|Pwd|Secret',
      capsWords: 'PASSWORD|PASSWD|PASSPHRASE|SECRET',
      suffix: '(?:[_.-]?key)?',
      keyEnd: `(?:\\\\?["'])?\\s*[=:]\\s*(?:\\\\?["'])?`,
      value: PASSWORD_VALUE,
      hint: /[pP][aA][sS][sS]|[pP][wW][dD]|[sS][eE][cC][rR][eE][tT]|[pP][rR][iI][vV][aA][tT][eE]_|[mM][aA][sS][tT][eE][rR][aA][uU][tT][hH]/,
      // `PASS:` in capitals is a test runner's verdict (go test's `--- PASS: TestX`, automake's
      // `PASS: t/unit.sh`), never a key; /i cannot tell it from `pass:`.
      confirm: (match) => !TEST_VERDICT.test(match),
    }),
    {
      // SQL's `PASSWORD 'secret'` (CREATE ROLE / ALTER USER ... WITH PASSWORD), as PostgreSQL's
      // statement log (log_statement = ddl or all) writes every such statement: no `=` or `:` for
      // the key=value rules. The quotes stay; the blanks before are bounded (linear).
      kind: 'password',
      gate: GATE_KEYWORD,
      pattern: /((?<![A-Za-z0-9_])password[ \t]{1,16}')(?!\[REDACTED)[^'\r\n]+(?=')/gi,
      hint: /[pP][aA][sS][sS][wW][oO][rR][dD]/,
      keep: 1,
    },
    {
      // A MySQL or MariaDB client's `-pSECRET` on a command line (shell history, cron, CI logs):
      // attached, as `-p` alone asks for it; in a command of the client only, so that `cp -pr`
      // and a later `ssh -p2222` stay. The quotes stay.
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /mysql|mariadb/,
      command: new RegExp(
        `(?<![\\w.-])(?:mysql|mariadb)(?:-?(?:dump|admin|sh|check|import|pump|binlog))?(?=${NAME_END})`,
        'g',
      ),
      pattern: new RegExp(`((?<![^\\s"'])-p["']?)${ARG_VALUE}`, 'g'),
      keep: 1,
    },
    {
      // A registry login's `-p SECRET` (docker, podman, nerdctl, buildah, skopeo, oras), also `-p=`
      // and attached; in the login command only: `-p` of `docker run` is a port. `--password` is the
      // long-option rule's; `-p -` (not a value) is left.
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /login/,
      command: new RegExp(`(?<![\\w.-])${REGISTRY_CLIENTS}${ARG_SEP}login(?=${NAME_END})`, 'g'),
      pattern: new RegExp(`((?<![^\\s"'])-p(?:${ARG_SEP}(?!-)|=)?)${ARG_VALUE}`, 'g'),
      keep: 1,
    },
    {
      // redis-cli's `-a SECRET` (`-a` alone is common elsewhere).
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /redis-cli/,
      command: new RegExp(`(?<![\\w.-])redis-cli(?=${NAME_END})`, 'g'),
      pattern: new RegExp(`((?<![^\\s"'])-a${ARG_SEP})${ARG_VALUE}`, 'g'),
      keep: 1,
    },
    {
      // sshpass's `-p SECRET`, among its own options before the command it runs (anchored), so that
      // `sshpass -f file ssh -p 2222` keeps the port.
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /sshpass/,
      command: new RegExp(`(?<![\\w.-])sshpass(?=${NAME_END})`, 'g'),
      pattern: new RegExp(
        `^((?:${ARG_SEP}-(?:[fdP](?:${ARG_SEP})?[^\\s"',]+|[ehvV][^\\s"',]*))*${ARG_SEP}-p(?:${ARG_SEP}|["']?))${ARG_VALUE}`,
        'g',
      ),
      keep: 1,
    },
    {
      // Redis's password settings as its config file, its server's options and CONFIG SET write them
      // (`requirepass S3cret`, `--requirepass x`, MONITOR's `"requirepass" "x"`): no `=` or `:`.
      kind: 'password',
      gate: GATE_KEYWORD,
      hint: /requirepass|masterauth/i,
      pattern: new RegExp(`((?<![A-Za-z0-9_])(?:requirepass|masterauth)${ARG_SEP})${ARG_VALUE}`, 'gi'),
      keep: 1,
    },
    // Token-like keys only with a value that looks generated (12+ characters with a digit), so
    // that object dumps such as `token=Token{a64f992 ...}` or `token: android.os.BinderProxy@...`
    // are left alone.
    ...keyValueRules({
      kind: 'token',
      // `signature`: a presigned URL's (X-Amz-Signature, X-Goog-Signature) grants access as a token does.
      words: 'api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|x-api-key|signature',
      camelWords: 'Token|ApiKey',
      capsWords: 'TOKEN|APIKEY',
      suffix: '',
      keyEnd: `(?:\\\\?["'])?\\s*[=:]\\s*(?:\\\\?["'])?`,
      value: `${GENERATED}(?![{([@\\w])`,
      hint: /[kK][eE][yY]|[tT][oO][kK][eE][nN]|[sS][iI][gG][nN][aA][tT][uU][rR][eE]/,
    }),
    {
      kind: 'email',
      gate: GATE_AT,
      pattern:
        /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g,
      hint: /@/,
    },
    {
      // `user:password@host` without a scheme (a proxy variable, a command's argument), after the
      // e-mail rule, which already takes `password@host.example` whole: here the hosts it does not
      // take (localhost, an IPv4 address, a host with a port, a single name), so that an image
      // reference (`nginx:1.25@sha256:…`) and `user@host:port` stay as written.
      kind: 'url_password',
      gate: GATE_AT,
      pattern:
        /((?<![^\s/"'=(<,;[])[A-Za-z0-9._%+~-]+:)(?!\[REDACTED)[^\s:/@?#"'[\]]+(?=@(?:localhost\b|\d{1,3}(?:\.\d{1,3}){3}\b|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*:\d{1,5}(?!\w)|[A-Za-z0-9-]+(?![\w.@:-])))/g,
      hint: /:[^\s@]*@/,
      keep: 1,
    },
    {
      // A Cookie header: every pair's value, names kept (`sessionid=[REDACTED:cookie]; theme=…`);
      // Set-Cookie: the first pair's value, the attributes kept (`Path=/; HttpOnly`). Names are
      // bounded so that a line of many `cookie:` without a pair stays linear.
      kind: 'cookie',
      gate: GATE_KEYWORD,
      pattern:
        /((?<![\w-])(?:set-)?cookie["']?\s*[=:]\s*["']?)(?!\[REDACTED)[^=;\s"',:]{1,128}=[^;"'\r\n]*(?:;[ \t]*[^=;\s"',]{1,128}(?:=[^;"'\r\n]*)?)*/gi,
      hint: /cookie/i,
      keep: 1,
      rewrite: (pairs, label, key) =>
        SET_COOKIE.test(key)
          ? pairs.replace(FIRST_VALUE, `$1${label}`)
          : pairs.replace(EVERY_VALUE, (_m, sep: string, name?: string) => `${sep}${name ?? ''}${label}`),
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

const SET_COOKIE = /^set-/i;
/** A test runner's `PASS:` (see the password rule). */
const TEST_VERDICT = /^PASS[ \t]*:/;
/** A cookie's value in a Set-Cookie header: the first pair's. */
const FIRST_VALUE = /^([^=]+=)[^;]*/;
/** Each pair's value in a Cookie header. */
const EVERY_VALUE = /(^|;[ \t]*)([^=;]+=)?[^;]*/g;

/**
 * The most blanks a lookbehind looks back over between a scheme and its credentials. Unbounded,
 * the lookbehind ran at every position the blanks before it were given back from, each time over
 * all of them: `authorization:` and 32,000 spaces took 5 s of the event loop (one log line of
 * 256 KiB, minutes). Past it a value is taken only when it looks generated.
 */
const GAP = 16;

/** What may follow a client's name: a blank, a quote, or a list's comma (Java's `[mysql, -pX]`). */
const NAME_END = `[\\s"',]`;

/**
 * Between an option and its value: blanks on a shell line, or a quote, a comma and a quote as
 * runtimes log an argument list (`["-a","pw"]`, `['-a', 'pw']`, Java's `[-a, pw]`); redis's
 * MONITOR writes `"requirepass" "pw"`. The blanks are bounded (linear): past 16 the value is left.
 */
const ARG_SEP = `["']?(?:[ \\t]{1,16}|,[ \\t]{0,16})["']?`;

/**
 * An option's value: quoted, to its closing quote (the quotes kept); an unquoted list element, to
 * `,` or `]`; else a shell word.
 */
const ARG_VALUE = `(?!\\[REDACTED)(?:(?<=')[^'\\r\\n]+|(?<=")[^"\\r\\n]+|(?<=,[ \\t]{0,16})[^\\s,\\]"']+|[^\\s"']+)`;

/** 12+ characters of a token's alphabet with a digit among them: what a generated credential looks like. */
const GENERATED = `(?!\\[REDACTED)(?=[A-Za-z._~+/-]*\\d)[A-Za-z0-9._~+/-]{12,}=*`;

/** An Authorization header's name and separator, any case, the value's opening quote included. */
const AUTHORIZATION = `(?<![\\w-])(?:proxy-)?authorization["']?\\s*[=:]\\s*["']?`;

/** Authorization schemes (IANA's registry and the usual vendor ones); the credentials follow. */
const AUTH_SCHEMES =
  'bearer|basic|token|digest|negotiate|ntlm|hoba|mutual|vapid|ssws|apikey|api-key|key|sharedkey|splunk|genie(?:key)?|oauth|hmac|jwt|sso-key|aws4-hmac-sha256';

/** A quoted value (the quotes kept, so that a JSON line stays JSON), after the opening quote. */
const QUOTED =
  `(?<=(?:^|[^\\\\])")(?!")[^"\\\\\\r\\n]*(?:\\\\.[^"\\\\\\r\\n]*)*` +
  `|(?<=\\\\")(?![\\\\"])[^"\\\\\\r\\n]*(?:\\\\[^"][^"\\\\\\r\\n]*)*` +
  `|(?<=')(?!')[^'\\\\\\r\\n]*(?:\\\\.[^'\\\\\\r\\n]*)*`;

/**
 * One unquoted word of a value: to a blank, `,` `;` `&`, a quote or `}`; a `)` inside it is its
 * own, a closing one is not (`(note: password=x)`).
 */
const WORD = `[^\\s,;&"'})]+(?:\\)+[^\\s,;&"'})]+)*`;

/** A password key's `key` suffix and closing quote, between its word and the `=` or `:`. */
const KEY_TAIL = `(?:[_.-]?[kK][eE][yY])?(?:\\\\?["'])?`;

/**
 * The explicit password words just before a value and its `=` or `:` (bounded: a lookbehind); not
 * after `-` (`--password=`, `-password=`): a command line's option, whose value is one shell word.
 * `passwd` only with `=`: `passwd:` begins passwd(1)'s messages (LABEL_KEY).
 */
const RUN_ON_KEY =
  `(?<=(?<!-)(?:(?:password|passphrase|Password|Passphrase|PASSWORD|PASSPHRASE)${KEY_TAIL}[ \\t]{0,16}[=:]` +
  `|(?:passwd|Passwd|PASSWD)${KEY_TAIL}[ \\t]{0,16}=)[ \\t]{0,16})`;

/**
 * A short key word standing alone before `:`, as a message's label writes it as often as a config
 * its key (`Mounting secret: default-token-abcde for pod`, `pass: 3 of 5`, go test's `--- PASS:
 * TestX`, passwd(1)'s `passwd: all authentication tokens updated`); a longer key (`client_secret:`,
 * `db.pass:`, `dbPass:`) is a key. The body of a lookbehind (bounded).
 */
const LABEL_KEY = `(?<![A-Za-z0-9_.-])(?:pass|pwd|secret|passwd)(?:\\\\?["'])?[ \\t]{0,16}:[ \\t]{0,16}`;

/** Where a value stands: at the end, before `,` `;` `&` `}` `)` `]` or a quote, or before the next field. */
const VALUE_END = `(?=[ \\t]*(?:$|[,;&})\\]"'\\r\\n])|[ \\t]+[\\w.-]+[=:])`;

/**
 * Most characters a label's word is followed to see whether it stands where a value does (a
 * negative lookahead of WORD's characters, before WORD and VALUE_END). Unbounded, a line of label
 * keys in one word (`pass:pass:pass:…`) had every key follow the word to its end: quadratic, a
 * minute of the event loop for a 256 KiB line. A longer word after a label stays unless it looks
 * generated (GENERATED has no such bound: it stops at the next `:`).
 */
const LABEL_WORD_MAX = 256;

/**
 * What a password key's value is. Quoted, everything to the closing quote (a backslash escapes
 * one), the quotes kept so that a JSON line stays JSON; after an escaped quote (`\"`: a JSON
 * string's text), to the next escaped quote. Unquoted, a text cannot say where a value with spaces
 * ends, and the rule goes by how likely the words after the key are a secret's:
 * - after `password=` or `password:` (passphrase; passwd with `=`: RUN_ON_KEY) it runs on over
 *   spaces, `,` `;` `&`, stopping where the next field begins (a word before `=` or `:`), at a
 *   command-line option (`-h`), a quote, `}` or a closing `)`: `password: correct horse` leaves no
 *   ` horse`, `password=a b user=bob` keeps ` user=bob`; the price, `password=x was reset` and
 *   `Invalid password: too short` lose their words;
 * - after a bare label word with `:` (LABEL_KEY) one word only where a value stands (VALUE_END:
 *   `secret: hunter2`, `pass: x user=bob`), or a generated-looking one anywhere; `pass: 3 of 5`
 *   is left whole; the price, `secret: hunter2 was rotated` keeps its secret;
 * - otherwise one word; MySQL's `(using password: YES)` says whether one was given, and is left.
 */
const PASSWORD_VALUE =
  `(?!\\[REDACTED)(?:${QUOTED}` +
  `|(?<!["'])(?!(?:YES|NO)\\))(?:${RUN_ON_KEY}(?!\\\\["'])${WORD}(?:[ \\t,;&]+(?![\\w.-]*[=:]|-)${WORD})*` +
  `|(?<!${LABEL_KEY})${WORD}` +
  `|${GENERATED}(?=[\\s,;&"'})]|$)|(?![^\\s,;&"'})]{${LABEL_WORD_MAX + 1}})${WORD}${VALUE_END}))`;

/**
 * The two rules of a key=value kind: `words` at a KEY_START, any case (`DB_PASSWORD`,
 * `db.password`), and `camelWords` ending a camelCase key (`userPassword`, `sessionToken`) or
 * `capsWords` ending a key in capitals (`PGPASSWORD`), case as written: with /i a camel boundary
 * cannot be told, and `bypass=` or `BYPASS=` would pass for a password key.
 * The key group (kept) ends with `keyEnd`, the `=` or `:`; `value` is what is redacted.
 */
function keyValueRules(o: {
  kind: string;
  words: string;
  camelWords: string;
  capsWords: string;
  suffix: string;
  keyEnd: string;
  value: string;
  hint: RegExp;
  confirm?: (match: string) => boolean;
}): RedactRule[] {
  return [
    {
      kind: o.kind,
      gate: GATE_KEYWORD,
      pattern: new RegExp(`(${KEY_START}(?:${o.words})${o.suffix}${o.keyEnd})${o.value}`, 'gi'),
      hint: o.hint,
      keep: 1,
      confirm: o.confirm,
    },
    {
      kind: o.kind,
      gate: GATE_KEYWORD,
      pattern: new RegExp(
        `(\\b(?:[a-z][A-Za-z0-9]{0,40}(?:${o.camelWords})|[A-Z][A-Z0-9]{0,40}(?:${o.capsWords}))${o.keyEnd})${o.value}`,
        'g',
      ),
      hint: o.hint,
      keep: 1,
    },
  ];
}
