/**
 * Reads one request the way ClickHouse's HTTP handler does (src/Server/HTTPHandler.cpp and the
 * HTTP interface documentation): credentials from X-ClickHouse-User/Key, Basic auth or the
 * user/password parameters (never mixed), `database` and `default_format` from parameters or
 * their X-ClickHouse-* headers, the query id, `param_*` query parameters, and every other
 * parameter not reserved by the handler as a setting. Pure: the server does the I/O.
 */

/** A request the server refuses before the engine sees it, named by the ClickHouse error it raises. */
export class Refusal extends Error {
  constructor(
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Credentials {
  user: string;
  password: string;
}

export interface ParsedRequest {
  credentials: Credentials;
  /** The `query` parameter (the beginning of the query; the body is the rest). */
  queryParam: string;
  database?: string;
  defaultFormat: string;
  queryId?: string;
  /** Settings in request order, names checked. */
  settings: Array<[string, string]>;
  /** `param_<name>` values as sent (escaped text). */
  params: Record<string, string>;
  roles: string[];
  sessionId?: string;
  /** enable_http_compression was asked for. */
  httpCompression: boolean;
  /** Only POST may change data: anything else runs with readonly = 2. */
  readonly: boolean;
}

/** Parameters the handler reads itself rather than treating as settings. */
const RESERVED = new Set([
  'query',
  'database',
  'default_format',
  'role',
  'compress',
  'decompress',
  'user',
  'password',
  'quota_key',
  'query_id',
  'stacktrace',
  'buffer_size',
  'wait_end_of_query',
  'session_id',
  'session_timeout',
  'session_check',
  'client_protocol_version',
  'close_session',
]);

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const truthy = (v: string | null | undefined): boolean => v === '1' || v?.toLowerCase() === 'true';

type Headers = Record<string, string | string[] | undefined>;

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function credentialsOf(h: Headers, search: URLSearchParams): Credentials {
  const headerUser = header(h, 'x-clickhouse-user');
  const headerKey = header(h, 'x-clickhouse-key');
  const authorization = header(h, 'authorization');
  const inParams = search.has('user') || search.has('password') || search.has('quota_key');
  if (headerUser !== undefined || headerKey !== undefined) {
    if (authorization !== undefined)
      throw new Refusal(
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and other authentication methods simultaneously',
      );
    if (inParams)
      throw new Refusal(
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and authentication via parameters simultaneously',
      );
    return { user: headerUser || 'default', password: headerKey ?? '' };
  }
  if (authorization !== undefined) {
    if (inParams)
      throw new Refusal(
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously',
      );
    const [scheme, info = ''] = authorization.split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'basic')
      throw new Refusal(
        'AUTHENTICATION_FAILED',
        `Invalid authentication: '${scheme ?? ''}' HTTP Authorization scheme is not supported`,
      );
    const decoded = Buffer.from(info, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded || 'default', password: '' }
      : { user: decoded.slice(0, colon) || 'default', password: decoded.slice(colon + 1) };
  }
  return { user: search.get('user') || 'default', password: search.get('password') ?? '' };
}

export function parseRequest(method: string, url: URL, headers: Headers): ParsedRequest {
  const search = url.searchParams;
  const settings: Array<[string, string]> = [];
  const params: Record<string, string> = {};
  for (const [key, value] of search) {
    if (key === '' || RESERVED.has(key)) continue;
    if (key.startsWith('param_')) {
      // The first value wins, as the handler keeps the first substitution it sees.
      params[key.slice('param_'.length)] ??= value;
      continue;
    }
    if (!SETTING_NAME.test(key)) throw new Refusal('UNKNOWN_SETTING', `Unknown setting '${key}'`);
    settings.push([key, value]);
  }
  const database = header(headers, 'x-clickhouse-database') || search.get('database') || undefined;
  const queryId = search.get('query_id') || header(headers, 'x-clickhouse-query-id') || undefined;
  return {
    credentials: credentialsOf(headers, search),
    queryParam: search.get('query') ?? '',
    ...(database ? { database } : {}),
    defaultFormat: header(headers, 'x-clickhouse-format') || search.get('default_format') || 'TabSeparated',
    ...(queryId ? { queryId } : {}),
    settings,
    params,
    roles: search.getAll('role'),
    ...(search.get('session_id') ? { sessionId: search.get('session_id') as string } : {}),
    httpCompression: truthy(search.get('enable_http_compression')),
    readonly: method !== 'POST',
  };
}

/** The whole query: the `query` parameter, a line feed, then the body (the documented rule). */
export function fullQuery(queryParam: string, body: string): string {
  return queryParam === '' ? body : `${queryParam}\n${body}`;
}

export type ResponseEncoding = 'gzip' | 'deflate' | 'br';

/** The response encoding from Accept-Encoding, among those Node's zlib provides. */
export function chooseEncoding(acceptEncoding: string | undefined): ResponseEncoding | undefined {
  const offered = new Set((acceptEncoding ?? '').split(',').map((s) => s.split(';')[0]?.trim().toLowerCase()));
  for (const e of ['gzip', 'deflate', 'br'] as const) if (offered.has(e)) return e;
  return undefined;
}

/**
 * A SET statement for one setting from the URL. The value goes in as a string literal: the engine
 * converts it to the setting's type as it does for a URL parameter.
 */
export function setStatement(name: string, value: string): string {
  return `SET ${name} = '${value.replace(/['\\]/g, '\\$&')}'`;
}

const COMPOSITE = /^(Array|Tuple|Map|Nested)\s*\(/;
const WRAPPER = /^(Nullable|LowCardinality)\s*\((.*)\)\s*$/s;

/** The value to give the engine's binder (which escapes strings itself) for a parameter sent as escaped text. */
export function bindValue(name: string, type: string, raw: string): string | null {
  let t = type.trim();
  for (let m = WRAPPER.exec(t); m; m = WRAPPER.exec(t)) t = (m[2] as string).trim();
  if (COMPOSITE.test(t)) {
    // The binder escapes backslashes again; a literal without any passes through unchanged.
    if (raw.includes('\\'))
      throw new Refusal(
        'NOT_IMPLEMENTED',
        `Query parameter '${name}' of type ${type} contains backslash escapes, which this test server cannot pass to the embedded engine's binder unchanged`,
      );
    return raw;
  }
  if (raw === '\\N') return null;
  return unescapeText(raw);
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v' };

/** ClickHouse's "escaped" text format (TabSeparated): backslash sequences, \xHH, any other escaped char as itself. */
export function unescapeText(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i] as string;
    if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += ESCAPES[n] ?? n;
  }
  return out;
}
