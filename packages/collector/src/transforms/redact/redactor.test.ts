import { describe, expect, it } from 'vitest';
import { readLoghub } from '../templates/loghub.js';
import { luhnValid } from './luhn.js';
import { GATE_KEYWORD, KEYWORDS, scanGates } from './prefilter.js';
import { redactOptions } from './options.js';
import { Redactor, type RedactionCounts } from './redactor.js';
import { loghubCorpus } from '../../../../../test/support/loghub.js';

// Synthetic secrets (documentation examples and test card numbers), one line or more per kind.
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEA7bq8Zx1n2x3VbM0dPqf3Tz0vJjW5',
  'kV2sY4rQ3x9d0s8u7t6r5e4w3q2a1zXcVbNmLkJhGfDs',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const CORPUS: Array<{ kind: string; line: string; secret: string }> = [
  { kind: 'bearer', line: 'GET /api 200 Authorization: Bearer mF_9.B5f-4.1JqM tok', secret: 'mF_9.B5f-4.1JqM' },
  {
    kind: 'bearer',
    line: 'proxy sent header Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
    secret: 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
  },
  {
    kind: 'url_password',
    line: 'connecting to postgres://app:s3cr3t-Pa55@db.internal:5432/main',
    secret: 's3cr3t-Pa55',
  },
  { kind: 'url_password', line: 'mirror https://deploy:hunter2@git.example.org/repo.git failed', secret: 'hunter2' },
  { kind: 'password', line: 'login attempt user=admin password=Tr0ub4dor&3 ok', secret: 'Tr0ub4dor' },
  { kind: 'basic_auth', line: 'curl -u admin:P@ssw0rd! https://api.internal/v1', secret: 'P@ssw0rd!' },
  { kind: 'cookie', line: 'GET / Cookie: sessionid=8f14e45fceea167a5a36; theme=dark', secret: '8f14e45fceea167a5a36' },
  { kind: 'password', line: '{"user":"svc","password":"correct horse battery staple"}', secret: 'correct horse' },
  { kind: 'password', line: 'config loaded: db_pass: x9!Qw, client_secret=abcDEF123456', secret: 'abcDEF123456' },
  {
    kind: 'token',
    line: 'calling upstream with api_key=4f9d2c81e7b34a6f9c1d0e2b3a4c5d6e',
    secret: '4f9d2c81e7b34a6f9c1d0e2b3a4c5d6e',
  },
  {
    // A token with its issuer's prefix is named by it, whatever key it is under.
    kind: 'service_token',
    line: 'refresh ok access_token: "gho_16C7e42F292c6912E7710c838347Ae178B4a"',
    secret: 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  },
  { kind: 'aws_access_key', line: 'using credentials AKIAIOSFODNN7EXAMPLE for s3', secret: 'AKIAIOSFODNN7EXAMPLE' },
  {
    kind: 'service_token',
    line: 'git clone https://github.com/acme/x using 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',
    secret: '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',
  },
  {
    kind: 'service_token',
    line: 'posting alert with xoxb-2934756102-4839201758-AbCdEfGhIjKlMnOpQrStUvWx',
    secret: 'xoxb-2934756102-4839201758-AbCdEfGhIjKlMnOpQrStUvWx',
  },
  {
    kind: 'service_token',
    line: 'stripe client init sk_live_51HxYzAbCdEfGhIjKlMnOpQr failed',
    secret: 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr',
  },
  {
    // A webhook URL is a credential; alerting tools print it when a post fails.
    kind: 'service_token',
    line: 'alert post to https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/AbCdEfGhIjKlMnOpQrStUvWx failed: 500',
    secret: 'AbCdEfGhIjKlMnOpQrStUvWx',
  },
  {
    kind: 'service_token',
    line: 'POST https://discord.com/api/webhooks/112233445566778899/Xy_1aB-cD2eF3gH4iJ5kL6mN7oP8qR9 429',
    secret: 'Xy_1aB-cD2eF3gH4iJ5kL6mN7oP8qR9',
  },
  {
    kind: 'service_token',
    line: 'vault: token hvs.CAESIJ1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT expired, renewing',
    secret: 'hvs.CAESIJ1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT',
  },
  {
    kind: 'service_token',
    line: 'curl --header "PRIVATE-TOKEN: glpat-Xy7bQ2mN9pLk4vR8sT1w" https://gitlab.example/api/v4/projects',
    secret: 'glpat-Xy7bQ2mN9pLk4vR8sT1w',
  },
  {
    kind: 'service_token',
    line: 'publish with npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 to registry',
    secret: 'npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
  },
  {
    kind: 'aws_secret_key',
    line: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  {
    kind: 'gcp_api_key',
    line: 'maps request key AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe failed',
    secret: 'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
  },
  {
    kind: 'gcp_oauth_token',
    line: 'token ya29.a0AfH6SMBx1r2s3t4u5v6w7x8y9z0ABCDEF expired',
    secret: 'ya29.a0AfH6SMBx1r2s3t4u5v6w7x8y9z0ABCDEF',
  },
  {
    kind: 'azure_key',
    line: 'DefaultEndpointsProtocol=https;AccountName=devstore;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;',
    secret: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq',
  },
  {
    kind: 'azure_key',
    line: 'blob url https://a.blob.core.windows.net/c/f?sv=2020-08-04&sig=dGhpcyBpcyBub3QgYSByZWFsIHNpZw%3D%3D',
    secret: 'dGhpcyBpcyBub3QgYSByZWFsIHNpZw',
  },
  {
    kind: 'jwt',
    line: 'session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U accepted',
    secret: 'eyJzdWIiOiIxMjM0NTY3ODkwIn0',
  },
  { kind: 'private_key', line: `loaded key ${PEM}`, secret: 'MIIEowIBAAKCAQEA7bq8Zx1n2x3VbM0dPqf3Tz0vJjW5' },
  {
    kind: 'private_key',
    line: '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}',
    secret: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  },
  {
    kind: 'email',
    line: 'password reset mail sent to jane.doe+alerts@example.co.uk',
    secret: 'jane.doe+alerts@example.co.uk',
  },
  { kind: 'card_number', line: 'charge card 4111 1111 1111 1111 declined', secret: '4111 1111 1111 1111' },
  { kind: 'card_number', line: 'mc=5555555555554444 amex=378282246310005', secret: '5555555555554444' },
  { kind: 'card_number', line: 'discover 6011-1111-1111-1117 ok', secret: '6011-1111-1111-1117' },
];

/**
 * Lines of `long` characters shaped so that a rule trying every start, or looking back over every
 * blank at every position, is quadratic, each with what redaction makes of it.
 */
function hostileLines(long: number): Array<[string, string]> {
  return [
    ['authorization:' + ' '.repeat(long) + 'a', 'authorization:' + ' '.repeat(long) + 'a'],
    ['x bearer' + '\t'.repeat(long) + 'x', 'x bearer' + '\t'.repeat(long) + 'x'],
    ['Authorization: Bearer' + ' '.repeat(long) + '!', 'Authorization: Bearer' + ' '.repeat(long) + '!'],
    // No `@` after the runs: neither an e-mail nor a URL's password.
    ['https://a ' + 'aaaa.'.repeat(long / 5) + ' x@y', 'https://a ' + 'aaaa.'.repeat(long / 5) + ' x@y'],
    ['-u'.repeat(long / 2) + '! a@b', '-u'.repeat(long / 2) + '! a@b'],
    // Command lines: many client names, options without a value, blanks past the bound.
    ['mysql '.repeat(long / 6) + 'x', 'mysql '.repeat(long / 6) + 'x'],
    ['mysql' + ' -p'.repeat(long / 3), 'mysql' + ' -p'.repeat(long / 3)],
    ["mysql -p'" + 'a'.repeat(long), "mysql -p'[REDACTED:password]"],
    ['redis-cli -a' + ' '.repeat(long) + 'x', 'redis-cli -a' + ' '.repeat(long) + 'x'],
    // Each `-a` takes the next as its value: `-a -a` is `-a [REDACTED:password]`.
    ['redis-cli' + ' -a -a'.repeat(long / 6), 'redis-cli' + ' -a [REDACTED:password]'.repeat(long / 6)],
    ['redis-cli' + ',"-a"'.repeat(long / 8), 'redis-cli' + ',"-a","[REDACTED:password]"'.repeat(long / 16)],
    // sshpass's options before -p: many, none of them -p; commands ended at once; an unended quote.
    ['sshpass' + ' -v'.repeat(long / 3) + ' x', 'sshpass' + ' -v'.repeat(long / 3) + ' x'],
    ['["sshpass"' + ',"-f","x"'.repeat(long / 9) + ']', '["sshpass"' + ',"-f","x"'.repeat(long / 9) + ']'],
    ['mysql ; '.repeat(long / 8), 'mysql ; '.repeat(long / 8)],
    ['mysql "' + 'a'.repeat(long) + ' -px', 'mysql "' + 'a'.repeat(long) + ' -p[REDACTED:password]'],
    ['requirepass "' + 'a'.repeat(long), 'requirepass "[REDACTED:password]'],
    ['x --password' + ','.repeat(long), 'x --password,[REDACTED:password]'],
    // Password values: words that never reach a next field, closing parentheses, options.
    ['password=' + 'a '.repeat(long / 2), 'password=[REDACTED:password] '],
    ['password=' + 'a)'.repeat(long / 2), 'password=[REDACTED:password])'],
    ['pass: ' + 'x)'.repeat(long / 2), 'pass: [REDACTED:password])'],
    // A label's word that never reaches where a value stands; a run-on after `:` to a next field.
    ['pass: ' + 'a'.repeat(long) + ' b', 'pass: ' + 'a'.repeat(long) + ' b'],
    ['password:' + ' a'.repeat(long / 2) + ' b:', 'password: [REDACTED:password] b:'],
    ['password=a' + ' -'.repeat(long / 2), 'password=[REDACTED:password]' + ' -'.repeat(long / 2)],
    // A label key at every few characters of one word, not where a value stands: each label tried
    // its word to the end (quadratic: about a minute here); and JWT-like starts along one run.
    ['pass:'.repeat(long / 5) + ' b', 'pass:'.repeat(long / 5) + ' [REDACTED:password]'],
    ['secret:'.repeat(long / 7) + ' b c', 'secret:'.repeat(long / 7) + ' b c'],
    ['eyJ-'.repeat(long / 4) + '!', 'eyJ-'.repeat(long / 4) + '!'],
    // New rules' shapes: SendGrid's prefix and parts, registry logins without a value.
    ['SG.'.repeat(long / 3) + 'x', 'SG.'.repeat(long / 3) + 'x'],
    ['SG.' + 'a'.repeat(22) + '.' + 'SG.'.repeat(long / 3), 'SG.' + 'a'.repeat(22) + '.' + 'SG.'.repeat(long / 3)],
    ['docker login '.repeat(long / 13) + 'x', 'docker login '.repeat(long / 13) + 'x'],
    ['docker login' + ' -p -'.repeat(long / 5), 'docker login' + ' -p -'.repeat(long / 5)],
    ['["docker"' + ',"login"'.repeat(long / 8) + ']', '["docker"' + ',"login"'.repeat(long / 8) + ']'],
  ];
}

describe('Redactor', () => {
  const redactor = new Redactor(redactOptions());

  it.each(CORPUS)('finds $kind in "$line"', ({ kind, line, secret }) => {
    const counts: RedactionCounts = {};
    const out = redactor.redact(line, counts);
    expect(out).not.toContain(secret);
    expect(out).toContain(`[REDACTED:${kind}]`);
    expect(counts[kind]).toBeGreaterThanOrEqual(1);
  });

  // Keys as environment variables and configuration files name them: the bare `\bpassword` and
  // `\btoken` of before let every one of these through.
  it.each([
    ['DB_PASSWORD=hunter2', 'hunter2', 'password'],
    ['env MYSQL_ROOT_PASSWORD=r00tpw ready', 'r00tpw', 'password'],
    ['POSTGRES_PASSWORD: s3cret', 's3cret', 'password'],
    ['REDIS_PASS=abc123 started', 'abc123', 'password'],
    ['SECRET_KEY=django-insecure-x1y2z3', 'django-insecure-x1y2z3', 'password'],
    ['spring.datasource.password=Tiger42', 'Tiger42', 'password'],
    ['{"db_password":"hunter2","userPassword":"pw1"}', 'hunter2', 'password'],
    ['{"userPassword":"pw1"}', 'pw1', 'password'],
    ['clientSecret: abcdef', 'abcdef', 'password'],
    ['APP_DB_PRIMARY_REPLICA_USER_PASSWORD=hunter2 ok', 'hunter2', 'password'],
    ['conf.a.b.c.d.e.db.password: Tiger42', 'Tiger42', 'password'],
    ['dbPass=hunter2', 'hunter2', 'password'],
    ['{"dbPwd":"hunter2"}', 'hunter2', 'password'],
    [
      'export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'service_token',
    ],
    ['{"sessionToken":"abc123def456ghi789"}', 'abc123def456ghi789', 'token'],
    ['OPENAI_API_KEY=sk-proj-4f9d2c81e7b34a6f9c1d', 'sk-proj-4f9d2c81e7b34a6f9c1d', 'token'],
  ])('finds a secret under a prefixed or camelCase key in "%s"', (line, secret, kind) => {
    const counts: RedactionCounts = {};
    const out = redactor.redact(line, counts);
    expect(out).not.toContain(secret);
    expect(counts[kind]).toBeGreaterThanOrEqual(1);
  });

  // What the session-8 trial and the review still found shipped in clear, and what else a production
  // log holds (HTTP headers as clients and proxies dump them, command lines, connection strings).
  it.each([
    ['authorization: token 1a2b3c4d5e6f7a8b9c0d1e2f', '1a2b3c4d5e6f7a8b9c0d1e2f', 'bearer'],
    ['Authorization: Token 1a2b3c4d5e6f7a8b9c0d1e2f', '1a2b3c4d5e6f7a8b9c0d1e2f', 'bearer'],
    ['authorization: bearer abc.DEF-ghi_jkl.123', 'abc.DEF-ghi_jkl.123', 'bearer'],
    ['AUTHORIZATION: BEARER abcDEF123456ghiJKL', 'abcDEF123456ghiJKL', 'bearer'],
    ['upstream sent bearer 9f8e7d6c5b4a3f2e1d0c ok', '9f8e7d6c5b4a3f2e1d0c', 'bearer'],
    ['authorization: basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA', 'bearer'],
    ['Proxy-Authorization: Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1', 'YIIGhgYJKoZIhvcSAQICAQBuggZ1', 'bearer'],
    [
      "curl -H 'Authorization: SSWS 00QCjAl4MlV-WPXM0abcdef1234' https://x.okta.com",
      '00QCjAl4MlV-WPXM0abcdef1234',
      'bearer',
    ],
    ['{"headers":{"authorization":"8d0f9a1b2c3d4e5f6a7b"}}', '8d0f9a1b2c3d4e5f6a7b', 'bearer'],
    ['curl -u admin:P@ssw0rd! https://api.internal/v1', 'P@ssw0rd!', 'basic_auth'],
    ["curl -s --user 'deploy:s3cr3t pass' https://api.internal/v1", 's3cr3t', 'basic_auth'],
    ['curl -uadmin:hunter2 http://10.0.0.1/', 'hunter2', 'basic_auth'],
    ['git fetch deploy:hunter2@10.0.0.7/repo.git', 'hunter2', 'url_password'],
    ['mongo admin:Mongo123@localhost/admin', 'Mongo123', 'url_password'],
    ['HTTPS_PROXY=proxyuser:Pr0xyPass@proxy:3128', 'Pr0xyPass', 'url_password'],
    ['connecting to redis://:s3cr3tRedis@cache:6379/0', 's3cr3tRedis', 'url_password'],
    ['dsn https://user:p@ss:w0rd@db.example.com/x', 'ss:w0rd', 'url_password'],
    // A mangled URL (Flux printed these): its password is taken by the e-mail rule with its host.
    ['ssh://@https//user:password%5E1234@bitbucket.org/my/repo.git', 'password%5E1234', 'email'],
    ['GET / Cookie: sessionid=8f14e45fceea167a5a36; csrftoken=Zx9Yw8Vu7Ts6', '8f14e45fceea167a5a36', 'cookie'],
    ['GET / Cookie: theme=dark; sessionid=8f14e45fceea167a5a36', '8f14e45fceea167a5a36', 'cookie'],
    ['Set-Cookie: session=eyJ1c2VyIjoiYm9iIn0abc; Path=/; HttpOnly', 'eyJ1c2VyIjoiYm9iIn0abc', 'cookie'],
    ['{"cookie":"connect.sid=s%3AabcDEF.ghi"}', 's%3AabcDEF.ghi', 'cookie'],
    ['PGPASSWORD=hunter2 psql -h db -U app', 'hunter2', 'password'],
    ['ssh-keygen passphrase=open sesame', 'sesame', 'password'],
    [
      'aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI',
      'aws_secret_key',
    ],
    ['--aws-secret-access-key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI', 'aws_secret_key'],
    [
      'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=x&X-Amz-Signature=4c2b9e1f0a7d3c5b8e6f2a1d9c7b5e3f1a0d8c6b',
      '4c2b9e1f0a7d3c5b8e6f2a1d9c7b5e3f1a0d8c6b',
      'token',
    ],
    ['password=correct horse battery staple', 'horse', 'password'],
    ['password=correct horse, user=bob', 'horse', 'password'],
    ['login user=admin password=Tr0ub4dor&3 ok', '&3', 'password'],
    ['{"msg":"retry with password=\\"abc def\\" now"}', 'def', 'password'],
    ['{"password":"ab\\"cd"}', 'cd', 'password'],
    // An app's JSON line inside another JSON string (an escaped key and value).
    ['{"log":"{\\"db_password\\":\\"abc def\\"}"}', 'def', 'password'],
  ])('finds a secret the earlier rules shipped in clear in "%s"', (line, secret, kind) => {
    const counts: RedactionCounts = {};
    const out = redactor.redact(line, counts);
    expect(out).not.toContain(secret);
    expect(counts[kind]).toBeGreaterThanOrEqual(1);
  });

  it('keeps the names around a secret: an auth scheme, cookie names and attributes, the next field', () => {
    const cases: Array<[string, string]> = [
      ['authorization: bearer abcDEF123456', 'authorization: bearer [REDACTED:bearer]'],
      ['Cookie: a=1x2y3z; b=4w5v6u', 'Cookie: a=[REDACTED:cookie]; b=[REDACTED:cookie]'],
      ['Set-Cookie: sid=abc123; Path=/; HttpOnly', 'Set-Cookie: sid=[REDACTED:cookie]; Path=/; HttpOnly'],
      ['curl -u admin:secret https://x', 'curl -u admin:[REDACTED:basic_auth] https://x'],
      ['password=correct horse user=bob', 'password=[REDACTED:password] user=bob'],
      ['password=a b&user=bob', 'password=[REDACTED:password]&user=bob'],
      ['pw check password="correct horse" ok', 'pw check password="[REDACTED:password]" ok'],
    ];
    for (const [line, want] of cases) expect(redactor.redact(line, {})).toBe(want);
  });

  // The review of the run-on value: after a label with `:`, or a word that is as often English as a
  // key, the rest of the line went with the one word that could be a secret; then the trial after
  // it: `password: correct horse` leaked ` horse` where `password=correct horse` did not, and a
  // label still lost its next word.
  it('runs on after the password words with `=` or `:`, and takes a bare label word only where a value stands', () => {
    const cases: Array<[string, string]> = [
      ['password: correct horse', 'password: [REDACTED:password]'],
      ['password: correct horse, user: bob', 'password: [REDACTED:password], user: bob'],
      ['  DB_PASSWORD: correct horse battery', '  DB_PASSWORD: [REDACTED:password]'],
      ['passphrase : two words -v', 'passphrase : [REDACTED:password] -v'],
      ['secret: hunter2', 'secret: [REDACTED:password]'],
      ['{secret: hunter2}', '{secret: [REDACTED:password]}'],
      ['pass: hunter2 user=bob', 'pass: [REDACTED:password] user=bob'],
      ['PWD: s3cr3t, next: 1', 'PWD: [REDACTED:password], next: 1'],
      // A generated-looking value goes wherever it stands.
      ['secret: 9f8e7d6c5b4a3210 rotated', 'secret: [REDACTED:password] rotated'],
      ['REDIS_PASS=abc123 started', 'REDIS_PASS=[REDACTED:password] started'],
      ['pass=abc123 started', 'pass=[REDACTED:password] started'],
      ['retry (note: password=hunter2) later', 'retry (note: password=[REDACTED:password]) later'],
      ['password=pa)ss word', 'password=[REDACTED:password]'],
      ['dbPassword=correct horse battery', 'dbPassword=[REDACTED:password]'],
      ['PGPASSWORD=correct horse psql -h db', 'PGPASSWORD=[REDACTED:password] -h db'],
      ['mysql -u root --password=S3cret -h db app', 'mysql -u root --password=[REDACTED:password] -h db app'],
      ['config: client_secret: abc secret words', 'config: client_secret: [REDACTED:password] secret words'],
    ];
    for (const [line, want] of cases) expect(redactor.redact(line, {})).toBe(want);
    for (const line of [
      // Labels: the words after them are a message's, not a value.
      'kubelet: Mounting secret: default-token-abcde for pod ns/web-1',
      'java.lang.IllegalStateException: pass: 3 of 5 checks ok',
      'Pass: all tests passed (12/12)',
      '--- PASS: TestParseConfig (0.00s)',
      'PASS: tests/unit.sh',
      'passwd: all authentication tokens updated successfully.',
      // MySQL says whether a password was given, not which.
      "ERROR 1045 (28000): Access denied for user 'bob'@'localhost' (using password: YES)",
      "Access denied for user 'root'@'10.0.0.7' (using password: NO)",
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it('redacts a database client password on a command line, after the client only', () => {
    const cases: Array<[string, string]> = [
      ['mysql -uroot -pS3cret', 'mysql -uroot -p[REDACTED:password]'],
      [
        "0 3 * * * mysqldump -h db -u backup -p'S3 cret' app > /backup/app.sql",
        "0 3 * * * mysqldump -h db -u backup -p'[REDACTED:password]' app > /backup/app.sql",
      ],
      [
        '+ /usr/bin/mariadb -uroot -p"x;y" -e "SELECT 1"',
        '+ /usr/bin/mariadb -uroot -p"[REDACTED:password]" -e "SELECT 1"',
      ],
      ['redis-cli -a mypassword ping', 'redis-cli -a [REDACTED:password] ping'],
      [
        'docker exec cache redis-cli -h cache --pass mypassword --no-auth-warning info',
        'docker exec cache redis-cli -h cache --pass [REDACTED:password] --no-auth-warning info',
      ],
      ["redis-cli -a 'my password' ping", "redis-cli -a '[REDACTED:password]' ping"],
    ];
    for (const [line, want] of cases) {
      const counts: RedactionCounts = {};
      expect(redactor.redact(line, counts)).toBe(want);
      expect(counts).toEqual({ password: 1 });
    }
    for (const line of [
      'cp -pr /var/lib/mysql /backup',
      'mysql -u root -p app',
      'mysqld: ready for connections -pfoo',
      'grep -a error /var/log/redis/redis.log',
      'redis-cli -h cache ping',
      'tar -czpf /backup/redis.tgz /data && redis-cli save',
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  // Passwords given as the next argument: sshpass, redis's config and server options, long options
  // (`docker login --password x`, keytool's `-storepass`), in a shell line or as runtimes log an
  // argument list (JSON, Python, Node, Java's `[a, b]`); and each client's options only up to the
  // end of its own command, so that a later `ssh -p2222` keeps its port.
  it('redacts a password given as the next argument, in a shell line or an argument list, within its command', () => {
    const cases: Array<[string, string, number]> = [
      ['sshpass -p S3cret ssh deploy@host', 'sshpass -p [REDACTED:password] ssh deploy@host', 1],
      ['sshpass -pS3cret scp a b:/tmp', 'sshpass -p[REDACTED:password] scp a b:/tmp', 1],
      ["sshpass -p 'my secret' ssh -p 2222 deploy@host", "sshpass -p '[REDACTED:password]' ssh -p 2222 deploy@host", 1],
      [
        'sshpass -v -P assword -p S3cret ssh -p 2222 h',
        'sshpass -v -P assword -p [REDACTED:password] ssh -p 2222 h',
        1,
      ],
      ['requirepass S3cret', 'requirepass [REDACTED:password]', 1],
      ['requirepass "foo bar"', 'requirepass "[REDACTED:password]"', 1],
      ['masterauth S3cret', 'masterauth [REDACTED:password]', 1],
      [
        'redis-server /etc/redis.conf --requirepass S3cret --port 6380',
        'redis-server /etc/redis.conf --requirepass [REDACTED:password] --port 6380',
        1,
      ],
      ['"config" "set" "requirepass" "S3cret"', '"config" "set" "requirepass" "[REDACTED:password]"', 1],
      ['requirepass: S3cret', 'requirepass: [REDACTED:password]', 1],
      ['masterauth: S3cret', 'masterauth: [REDACTED:password]', 1],
      ['exec: ["redis-cli","-a","pw","ping"]', 'exec: ["redis-cli","-a","[REDACTED:password]","ping"]', 1],
      ["args: [ 'redis-cli', '-a', 'pw' ]", "args: [ 'redis-cli', '-a', '[REDACTED:password]' ]", 1],
      ['command [redis-cli, -a, pw, ping]', 'command [redis-cli, -a, [REDACTED:password], ping]', 1],
      ["args=['mysql', '-pS3cret', '-h', 'db']", "args=['mysql', '-p[REDACTED:password]', '-h', 'db']", 1],
      [
        '["sshpass", "-p", "pw", "ssh", "-p", "2222", "h"]',
        '["sshpass", "-p", "[REDACTED:password]", "ssh", "-p", "2222", "h"]',
        1,
      ],
      [
        'cmd ["app", "--password", "x", "--user", "bob"]',
        'cmd ["app", "--password", "[REDACTED:password]", "--user", "bob"]',
        1,
      ],
      [
        'docker login --username bob --password S3cret registry.example',
        'docker login --username bob --password [REDACTED:password] registry.example',
        1,
      ],
      [
        'keytool -importkeystore -srcstorepass changeit -deststorepass changeit -noprompt',
        'keytool -importkeystore -srcstorepass [REDACTED:password] -deststorepass [REDACTED:password] -noprompt',
        2,
      ],
      [
        'mysqldump -pS3cret app > app.sql && ssh -p2222 backup@host',
        'mysqldump -p[REDACTED:password] app > app.sql && ssh -p2222 backup@host',
        1,
      ],
      [
        'mysql -pS3cret app; mysql -pOther app | ssh -p2222 h',
        'mysql -p[REDACTED:password] app; mysql -p[REDACTED:password] app | ssh -p2222 h',
        2,
      ],
      [
        'mysql -e "DROP DATABASE x; CREATE DATABASE x" -uroot -pS3cret',
        'mysql -e "DROP DATABASE x; CREATE DATABASE x" -uroot -p[REDACTED:password]',
        1,
      ],
      // `--password=` takes its whole shell word: before, the key=value rule stopped at `,` and left `,b`.
      ['docker login --password=a,b;c ghcr.io', 'docker login --password=[REDACTED:password] ghcr.io', 1],
      ['["app", "--password=s3,cret"]', '["app", "--password=[REDACTED:password]"]', 1],
      ["run --pass='a b' x", "run --pass='[REDACTED:password]' x", 1],
      // A registry login's short option, as CI logs echo it (`set -x`), with `=`, attached, quoted, listed.
      ['+ docker login -u ci -p S3cret ghcr.io', '+ docker login -u ci -p [REDACTED:password] ghcr.io', 1],
      ['docker login -p S3cret -u ci ghcr.io', 'docker login -p [REDACTED:password] -u ci ghcr.io', 1],
      ['docker login -u ci -p=S3cret ghcr.io', 'docker login -u ci -p=[REDACTED:password] ghcr.io', 1],
      ['podman login -pS3cret quay.io', 'podman login -p[REDACTED:password] quay.io', 1],
      ["nerdctl login -u ci -p 'a b' reg", "nerdctl login -u ci -p '[REDACTED:password]' reg", 1],
      [
        'exec: ["docker","login","-u","ci","-p","S3cret","ghcr.io"]',
        'exec: ["docker","login","-u","ci","-p","[REDACTED:password]","ghcr.io"]',
        1,
      ],
      [
        'docker login -u ci -p S3cret ghcr.io && docker run -p 8080:80 app',
        'docker login -u ci -p [REDACTED:password] ghcr.io && docker run -p 8080:80 app',
        1,
      ],
    ];
    for (const [line, want, n] of cases) {
      const counts: RedactionCounts = {};
      expect(redactor.redact(line, counts)).toBe(want);
      expect([line, counts]).toEqual([line, { password: n }]);
    }
    for (const line of [
      'sshpass -e ssh -p 2222 deploy@host',
      'sshpass -f /root/.pw ssh -p 2222 deploy@host',
      'cat pw | docker login -u bob --password-stdin registry.example',
      'redis-cli -h cache ping; ssh -p 2222 h',
      // `-p` of other docker commands is a port (or a pid, a platform): only a login's is a password.
      'docker run -p 8080:80 -p 443:443 nginx',
      'docker login -u ci --password-stdin ghcr.io',
      'docker login -u ci -p -',
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it("redacts SQL's PASSWORD 'secret' as PostgreSQL's statement log writes it, quotes kept", () => {
    const cases: Array<[string, string]> = [
      [
        "2026-12-07 01:02:03 UTC [42] LOG:  statement: ALTER ROLE app WITH PASSWORD 's3cret pass';",
        "2026-12-07 01:02:03 UTC [42] LOG:  statement: ALTER ROLE app WITH PASSWORD '[REDACTED:password]';",
      ],
      [
        "LOG:  statement: CREATE USER bob LOGIN password 'x' VALID UNTIL 'infinity'",
        "LOG:  statement: CREATE USER bob LOGIN password '[REDACTED:password]' VALID UNTIL 'infinity'",
      ],
    ];
    for (const [line, want] of cases) expect(redactor.redact(line, {})).toBe(want);
    for (const line of [
      '2026-12-07 01:02:03.456 UTC [123] FATAL:  password authentication failed for user "app"',
      "ALTER ROLE app WITH PASSWORD NULL; ALTER ROLE b PASSWORD ''",
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it('leaves a JSON line valid JSON, each secret value a string', () => {
    const line = JSON.stringify({
      msg: 'login',
      password: 'correct "horse" battery',
      userPassword: 'pw1',
      api_key: 'abcd1234efgh5678',
      authorization: 'Bearer abcDEF123456',
      cookie: 'sid=abc123; theme=dark',
      note: 'password=hunter2 was reset',
    });
    const out = redactor.redact(line, {});
    expect(JSON.parse(out)).toEqual({
      msg: 'login',
      password: '[REDACTED:password]',
      userPassword: '[REDACTED:password]',
      api_key: '[REDACTED:token]',
      authorization: 'Bearer [REDACTED:bearer]',
      cookie: 'sid=[REDACTED:cookie]; theme=[REDACTED:cookie]',
      note: 'password=[REDACTED:password]',
    });
  });

  it('leaves ordinary words near the new key words alone', () => {
    for (const line of [
      'authorization failed for user bob',
      'Authorization: denied',
      'authorization: required',
      'the bearer of this message',
      'cookies enabled, cookie_policy: strict',
      'docker run -u 1000:1000 app',
      'pulled nginx:1.25@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
      'msrabi@msra-sa-41:9000 connected',
      'Failed password for root from 1.2.3.4 port 22 ssh2',
      'signature verification failed',
      'curl https://example.org/health -o /dev/null',
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it('leaves words that only end in a key word alone', () => {
    for (const line of ['bypass=true', 'compass: north', 'firstpass: ok', 'Failed password for root', 'mytoken=abc'])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it('redacts a SendGrid key by its shape, wherever it stands', () => {
    const key = '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';
    for (const [line, want] of [
      [`sending with ${key} failed: 401`, 'sending with [REDACTED:service_token] failed: 401'],
      // One character more is not the shape.
      [`noise ${key}9 end`, `noise ${key}9 end`],
      [`mail.send(key='${key}')`, "mail.send(key='[REDACTED:service_token]')"],
    ]) {
      const counts: RedactionCounts = {};
      expect(redactor.redact(line!, counts)).toBe(want);
    }
    // A `msg.` or a short `SG.` part opens no gate and takes nothing.
    for (const line of ['msg.ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf done', 'SG.short.key', 'cfg.SG.x']) {
      expect(redactor.redact(line, {})).toBe(line);
    }
    expect(scanGates(`x ${key}`) & GATE_KEYWORD).toBe(GATE_KEYWORD);
    expect(scanGates('msg.ngeVfQFYQlKU0ufo8x5d1A.x') & GATE_KEYWORD).toBe(0);
  });

  it('leaves names that only begin like a service token alone', () => {
    for (const line of [
      'npm_config_cache=/tmp/npm',
      'set sk_live_mode to false',
      'branch ghp_cleanup merged',
      'channel xoxb-alerts',
      'glpat-rotation done',
    ])
      expect(redactor.redact(line, {})).toBe(line);
  });

  it('covers every built-in kind in the corpus', () => {
    expect(new Set(CORPUS.map((c) => c.kind))).toEqual(new Set(redactor.kinds));
  });

  it('keeps key names and prefixes so the line stays readable', () => {
    const counts: RedactionCounts = {};
    expect(redactor.redact('user=bob password=abc123 Authorization: Bearer abcdefgh12345', counts)).toBe(
      'user=bob password=[REDACTED:password] Authorization: Bearer [REDACTED:bearer]',
    );
    expect(counts).toEqual({ password: 1, bearer: 1 });
  });

  // One log line of the longest a source keeps whole (logFiles.maxLineBytes, 256 KiB), shaped so
  // that a rule trying every start, or looking back over every blank at every position, is
  // quadratic: each took seconds at 32 KiB and minutes here, with the collector's one event loop
  // blocked. Linear, the whole case is milliseconds; the suite's timeout is the tripwire.
  it('stays linear on long lines made to backtrack: blanks after a scheme, runs without an end', () => {
    for (const [line, expected] of hostileLines(256 * 1024)) expect(redactor.redact(line, {})).toBe(expected);
    // Within the bound the credentials after a scheme still go; past it, only a generated-looking value.
    expect(redactor.redact(`Authorization: Bearer${' '.repeat(16)}opaque-ab`, {})).toBe(
      `Authorization: Bearer${' '.repeat(16)}[REDACTED:bearer]`,
    );
    expect(redactor.redact(`Authorization: Bearer${' '.repeat(40)}opaque-ab7c9d2e`, {})).toBe(
      `Authorization: Bearer${' '.repeat(40)}[REDACTED:bearer]`,
    );
    expect(redactor.redact('mail x-john.doe@example.com and https://x-a:pw@host', {})).toBe(
      'mail [REDACTED:email] and https://x-a:[REDACTED:url_password]@host',
    );
  });

  // The test above is a tripwire only where a quadratic rule takes longer than the suite's timeout.
  // This one measures growth instead: each shape's 256 KiB line once against its 16 KiB line 16 times
  // (four doublings; the same characters in all): about the same for a linear rule, 16 times as much
  // for a quadratic one. In the process's CPU time (other processes' load does not count in it, where
  // in wall time a loaded machine took the longer run for up to 9 times the shorter), the least of
  // five interleaved measures each (every shape is about a millisecond of work or more at 256 KiB, so
  // a collection inside one measure cannot reach the bound in all five). A ratio, not a time: no
  // bound depends on the machine's speed.
  it('takes time in proportion to the line on every hostile shape: 16 times the line, under 4 times 16 short ones', () => {
    const small = hostileLines(16 * 1024);
    const big = hostileLines(256 * 1024);
    const cpu = (line: string, times: number) => {
      const t = process.cpuUsage();
      for (let k = 0; k < times; k++) redactor.redact(line, {});
      const d = process.cpuUsage(t);
      return d.user + d.system;
    };
    const ratios = small.map(([line], i) => {
      redactor.redact(line, {});
      const runs = { small: [] as number[], big: [] as number[] };
      for (let k = 0; k < 5; k++) {
        runs.small.push(cpu(line, 16));
        runs.big.push(cpu(big[i]![0], 1));
      }
      return { shape: line.slice(0, 24), ratio: Math.min(...runs.big) / Math.max(Math.min(...runs.small), 1) };
    });
    expect(ratios.filter((r) => r.ratio >= 4)).toEqual([]);
  });
  it('leaves numbers that fail Luhn or have no card prefix, and returns clean lines unchanged', () => {
    const counts: RedactionCounts = {};
    for (const line of [
      'card 4111 1111 1111 1112',
      'blk_-6952295868487656571 stored',
      'id 1234567812345678',
      'Failed password for root from 1.2.3.4 port 22 ssh2',
    ]) {
      expect(redactor.redact(line, counts)).toBe(line);
    }
    expect(counts).toEqual({});
    expect(luhnValid('79927398713')).toBe(true);
  });

  it("redacts a structured field's value as its key=value pair would be, and passes clean ones through", () => {
    const fields: Array<[string, string]> = [
      ['dsn', 'postgres://app:s3cr3t-Pa55@db.internal:5432/main'],
      ['sig', 'Zm9vYmFyYmF6cXV4cXV1eHh5enp5'],
      // Opens the keyword gate through its `=` but is no secret (the rule wants `sig=` as written).
      ['SIG', 'Zm9vYmFyYmF6cXV4cXV1eHh5enp5'],
      ['owner', 'jane.doe@example.com'],
      ['card', '4111 1111 1111 1111'],
      ['user', 'bob'],
      ['duration_ms', '124'],
    ];
    let redacted = 0;
    for (const [key, value] of fields) {
      const pair: RedactionCounts = {};
      const field: RedactionCounts = {};
      const kv = redactor.redact(`${key}=${value}`, pair);
      const out = redactor.redactField(key, value, field);
      expect([key, out, field]).toEqual([key, kv.slice(key.length + 1), pair]);
      if (out !== value) redacted++;
    }
    expect(redacted).toBe(4);
  });

  it("takes a secret key's field value whole, where its key=value text would stop at a space, quote or `&`", () => {
    const cases: Array<[string, string, string]> = [
      ['password', 'Tr0ub4dor&3', '[REDACTED:password]'],
      ['password', 'correct horse battery staple', '[REDACTED:password]'],
      ['DB_PASSWORD', 'ab"cd,ef;gh', '[REDACTED:password]'],
      ['clientSecret', "it's a secret", '[REDACTED:password]'],
      ['api_key', 'abcd1234efgh5678 and more', '[REDACTED:token]'],
      // A token key's value is still redacted only if it looks generated.
      ['token', 'Token{a64f992 mode=1}', 'Token{a64f992 mode=1}'],
      // Not a secret's key: only what its value holds is redacted.
      ['owner', 'jane.doe@example.com (admin)', '[REDACTED:email] (admin)'],
      // In text a password's value runs to the next field (docs/logs.md): `was reset` could be its end.
      ['note', 'password=hunter2 was reset', 'password=[REDACTED:password]'],
      ['note', 'password=hunter2 user=bob', 'password=[REDACTED:password] user=bob'],
    ];
    for (const [key, value, want] of cases) {
      const counts: RedactionCounts = {};
      expect([key, redactor.redactField(key, value, counts)]).toEqual([key, want]);
      if (want !== value) expect(Object.values(counts)).toEqual([1]);
    }
  });

  it('redacts a field the same way whether its key was seen before or not, past the memo of quiet keys too', () => {
    const r = new Redactor(redactOptions({}));
    const fresh = () => new Redactor(redactOptions({}));
    const cases: Array<[string, string]> = [
      ['user', 'bob'],
      ['user', 'password=hunter2x'],
      ['user', 'jane.doe@example.com'],
      ['request_identifier_long', 'Bearer abcdefghijklmnop'],
      ['request_identifier_long', 'plain'],
      ['apisig', 'Zm9vYmFyYmF6cXV4cXV1eHh5enp5'],
      ['apisig', 'x'],
      ['k'.repeat(100), 'token=abcdefghijklmnopqrstuvwxyz012345'],
      ['k'.repeat(100), 'clean'],
    ];
    // Twice round, and again after more distinct keys than the memo holds.
    const keys = Array.from({ length: 1500 }, (_, i) => `key_${i}`);
    for (let round = 0; round < 3; round++) {
      if (round === 2) for (const k of keys) r.redactField(k, '1', {});
      for (const [key, value] of cases) {
        const got: RedactionCounts = {};
        const want: RedactionCounts = {};
        expect([key, r.redactField(key, value, got), got]).toEqual([key, fresh().redactField(key, value, want), want]);
      }
    }
  });

  it('opens the keyword gate exactly when the keywords match, letters or none', () => {
    const texts = [
      '200',
      '12.5 ms',
      '2026-03-01T10:00:00.123Z',
      '-- :: //',
      'pass',
      'PWD',
      'x-api-KEY',
      'ya29.abc',
      'sig=',
      'AKIA',
      'eyJ',
      // Characters that case-insensitive matching with the u flag would fold onto k and s: not here.
      '\u212Aey',
      '\u017Figest',
      'ſecret',
      'Ｋｅｙ',
      'İ',
      '',
    ];
    for (const t of texts) expect([t, (scanGates(t) & GATE_KEYWORD) !== 0]).toEqual([t, KEYWORDS.test(t)]);
  });

  it('applies extra patterns from options and can turn a built-in kind off', () => {
    const r = new Redactor(
      redactOptions({ disable: ['email'], patterns: [{ kind: 'employee_id', pattern: 'EMP-\\d{6}', flags: '' }] }),
    );
    const counts: RedactionCounts = {};
    expect(r.redact('EMP-123456 mailed ops@example.com', counts)).toBe('[REDACTED:employee_id] mailed ops@example.com');
    expect(counts).toEqual({ employee_id: 1 });
    expect(() => new Redactor(redactOptions({ patterns: [{ kind: 'bad', pattern: '(', flags: '' }] }))).toThrow(
      expect.objectContaining({ code: 'ET_ERR_LOG_PATTERN' }),
    );
  });
});

const { root, present } = loghubCorpus();

// The ten Loghub-2k datasets hold no secret. Lines that look close and must stay untouched:
// `msrabi@msra-sa-41:9000` (Hadoop, user@host), `sparkExecutorActorSystem@mesos-slave-07` (Spark,
// akka address), `BinderProxy@2bd79ce` (Android, object id), "Failed password for root" (OpenSSH,
// no value), `token=Token{a64f992` and `keycode=4` (Android object dumps).
describe.skipIf(!present)('Redactor on Loghub-2k (no secrets there)', () => {
  it('redacts nothing in the 20,000 messages', async () => {
    const r = new Redactor(redactOptions());
    const counts: RedactionCounts = {};
    let changed = 0;
    for (const d of await readLoghub(root))
      for (const line of d.contents) if (r.redact(line, counts) !== line) changed++;
    expect(counts).toEqual({});
    expect(changed).toBe(0);
  });
});
