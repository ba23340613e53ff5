/**
 * A test server that puts the embedded engine (chdb) behind ClickHouse's HTTP interface, so the
 * ingester can be run exactly as in production (CLICKHOUSE_URL) where no ClickHouse server that
 * supports the schema can be installed. Not shipped. What it follows, from the HTTP interface
 * documentation and the server's HTTPHandler:
 *
 * - `GET /`, `/ping` and `/replicas_status` answer "Ok.\n"; queries go to `/`. (`/test-server/stats`
 *   is this server's own: where the engine's time went, for the benches.)
 * - The query comes from the `query` parameter, the body, or both (parameter, line feed, body);
 *   an INSERT's data follows its `FORMAT` clause in the body. One statement per request.
 * - Parameters not reserved by the handler are settings for this query only; `database`,
 *   `default_format`, `query_id` and `param_*` as parameters or X-ClickHouse-* headers; anything
 *   but POST runs with readonly = 2.
 * - Basic auth, X-ClickHouse-User/Key or user/password parameters against the configured users
 *   (checked here; the engine then runs the query as its own default user).
 * - Request bodies in gzip, deflate or br (Content-Encoding); responses compressed the same way
 *   when `enable_http_compression=1` and Accept-Encoding ask for it.
 * - X-ClickHouse-Query-Id, -Format, -Timezone, -Server-Display-Name and -Summary on answers;
 *   errors with the server's status for the code, X-ClickHouse-Exception-Code and the
 *   `Code: N. DB::Exception: ...` text; keep-alive for 30 s and 1,000 requests per connection,
 *   as the server's defaults.
 *
 * Each request runs in a fresh engine session (a connection of its own to the one data path), so
 * settings and the current database end with the request and requests run concurrently, as on a
 * server. The body is read whole before the query starts: a request cut off while sending its
 * body runs nothing (a server's insert of our sizes writes nothing either), and a query whose
 * client went away runs to the end (as documented for the server). Left out, and refused with
 * NOT_IMPLEMENTED where a client could ask: HTTP sessions (`session_id`), the native compression
 * of `compress`/`decompress`, roles, external data, progress headers; the summary's read and
 * written row counts (the engine reports only its result size).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Session } from 'chdb';
import { errorBody, fromEngineError, httpStatusOf, OWN_ERRORS, ServerException, exceptionText } from './errors.js';
import {
  bindValue,
  chooseEncoding,
  fullQuery,
  parseRequest,
  Refusal,
  setStatement,
  type ParsedRequest,
  type ResponseEncoding,
} from './request.js';
import { scanStatement } from './statement.js';

export interface ClickHouseHttpServerOptions {
  /** The engine's data directory (one per process: chdb binds one path). */
  dataDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** User name -> password; default: `default` with an empty password. */
  users?: Record<string, string>;
  /** Databases created at start (as the server image's CLICKHOUSE_DB). */
  databases?: string[];
  /** Seconds an idle keep-alive connection is kept (server default 30). */
  keepAliveTimeoutS?: number;
  /** Requests per connection before the server closes it (server default 1,000). */
  keepAliveMaxRequests?: number;
}

export interface ClickHouseHttpServer {
  url: string;
  port: number;
  stats(): ServerStats;
  close(): Promise<void>;
}

/**
 * Requests answered, by outcome, queries running now, and where the engine's time went (the
 * benches read it at `GET /test-server/stats`, a path of this server only: to tell waiting on the
 * engine from waiting elsewhere).
 */
export interface ServerStats {
  requests: number;
  errors: number;
  running: number;
  /** Statements run (a request's session set-up included), inserts among them. */
  statements: number;
  inserts: number;
  /** Sum over statements of the time each took in the engine (ms): more than `busyMs` when they overlap. */
  engineMs: number;
  insertMs: number;
  /** Time with at least one statement in the engine (ms): near the wall time, the engine is the bottleneck. */
  busyMs: number;
  /** Most statements in the engine at once. */
  maxRunning: number;
}

const inflate: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};
const deflateAs: Record<ResponseEncoding, (b: Buffer, level: number) => Promise<Buffer>> = {
  gzip: (b, level) => promisify(zlib.gzip)(b, { level }),
  deflate: (b, level) => promisify(zlib.deflate)(b, { level }),
  br: (b) => promisify(zlib.brotliCompress)(b),
};
/** Encodings the server knows but this one cannot decode with Node's zlib. */
const KNOWN_ENCODINGS = new Set(['xz', 'zstd', 'lz4', 'bz2', 'snappy']);

const CONTENT_TYPES: Array<[RegExp, string]> = [
  [/^JSON/i, 'application/json; charset=UTF-8'],
  [/^(TabSeparated|TSV)/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^CSV/i, 'text/csv; charset=UTF-8; header=absent'],
];

function contentTypeOf(format: string): string {
  return CONTENT_TYPES.find(([re]) => re.test(format))?.[1] ?? 'text/plain; charset=UTF-8';
}

export async function startClickHouseHttpServer(o: ClickHouseHttpServerOptions): Promise<ClickHouseHttpServer> {
  const users = new Map(Object.entries(o.users ?? { default: '' }));
  // Held for the server's life: the engine stays up between requests.
  const anchor = new Session(o.dataDir);
  const [version, timezone] = (await anchor.queryAsync('SELECT version(), timezone()', { format: 'TabSeparated' }))
    .text()
    .trim()
    .split('\t') as [string, string];
  const codeRows = (
    await anchor.queryAsync(
      `SELECT number, errorCodeToName(number) AS name FROM numbers(2000) WHERE name IN (${OWN_ERRORS.map((n) => `'${n}'`).join(', ')})`,
      { format: 'JSONCompactEachRow' },
    )
  )
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as [string | number, string]);
  const codes = new Map(codeRows.map(([n, name]) => [name, Number(n)]));
  for (const db of o.databases ?? []) await anchor.queryAsync(`CREATE DATABASE IF NOT EXISTS \`${db}\``);

  const raise = (name: string, message: string): ServerException => {
    const code = codes.get(name) ?? 0;
    return new ServerException(code, name, exceptionText(code, name, message));
  };
  const running = new Set<string>();
  const counts = { requests: 0, errors: 0 };
  const engine = { statements: 0, inserts: 0, engineMs: 0, insertMs: 0, busyMs: 0, maxRunning: 0 };
  let inEngine = 0;
  let busySince = 0;
  const now = () => performance.now();
  const displayName = `${os.hostname()} (edge-telemetry test server)`;

  async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    // A connection cut before the body ended: nothing runs.
    return req.complete ? Buffer.concat(chunks) : undefined;
  }

  async function decodeBody(req: http.IncomingMessage, raw: Buffer): Promise<string> {
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (!encoding || encoding === 'identity' || encoding === 'none') return raw.toString('utf8');
    const decode = inflate[encoding];
    if (!decode) {
      throw KNOWN_ENCODINGS.has(encoding)
        ? raise('NOT_IMPLEMENTED', `Content-Encoding '${encoding}' is not supported by this test server`)
        : raise('BAD_ARGUMENTS', `Unknown compression method '${encoding}'`);
    }
    try {
      return (await decode(raw)).toString('utf8');
    } catch (err) {
      throw raise('ZLIB_INFLATE_FAILED', `inflate failed: ${(err as Error).message}`);
    }
  }

  function authenticate(p: ParsedRequest): void {
    const want = users.get(p.credentials.user);
    if (want === undefined || want !== p.credentials.password)
      throw raise(
        'AUTHENTICATION_FAILED',
        `${p.credentials.user}: Authentication failed: password is incorrect, or there is no user with such name`,
      );
  }

  /** Runs one statement in a session of its own; resolves with the engine's result. */
  async function execute(p: ParsedRequest, query: string, format: string) {
    const stmt = scanStatement(query);
    if (stmt.empty) throw raise('SYNTAX_ERROR', 'Empty query');
    if (stmt.secondStatementAt !== undefined)
      throw raise(
        'SYNTAX_ERROR',
        `Syntax error (Multi-statements are not allowed): failed at position ${stmt.secondStatementAt + 1}: ${query.slice(stmt.secondStatementAt, stmt.secondStatementAt + 40)}`,
      );
    const bound: Record<string, string | null> = {};
    for (const [name, type] of stmt.placeholders) {
      const raw = p.params[name];
      if (raw !== undefined) bound[name] = bindValue(name, type, raw);
    }
    const t0 = now();
    if (inEngine++ === 0) busySince = t0;
    engine.maxRunning = Math.max(engine.maxRunning, inEngine);
    const session = new Session(o.dataDir);
    try {
      if (p.database) await session.queryAsync(`USE \`${p.database.replace(/`/g, '\\`')}\``);
      if (p.readonly) await session.queryAsync('SET readonly = 2');
      for (const [name, value] of p.settings) await session.queryAsync(setStatement(name, value));
      const started = process.hrtime.bigint();
      const result =
        Object.keys(bound).length > 0
          ? await session.queryBindAsync(query, bound, { format })
          : await session.queryAsync(query, { format });
      return { result, stmt, elapsedNs: process.hrtime.bigint() - started };
    } finally {
      session.close();
      const t1 = now();
      engine.statements++;
      engine.engineMs += t1 - t0;
      if (stmt.insert) {
        engine.inserts++;
        engine.insertMs += t1 - t0;
      }
      if (--inEngine === 0) engine.busyMs += t1 - busySince;
    }
  }

  async function handleQuery(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    let compress: { encoding: ResponseEncoding; level: number } | undefined;
    try {
      const p = parseRequest(req.method ?? 'GET', url, req.headers);
      const queryId = p.queryId ?? randomUUID();
      res.setHeader('X-ClickHouse-Query-Id', queryId);
      authenticate(p);
      if (
        req.method === 'POST' &&
        req.headers['content-length'] === undefined &&
        req.headers['transfer-encoding'] === undefined
      )
        throw raise(
          'HTTP_LENGTH_REQUIRED',
          'The Transfer-Encoding is not chunked and there is no Content-Length header for POST request',
        );
      const encoding = chooseEncoding(req.headers['accept-encoding']);
      if (p.httpCompression && encoding) {
        const level = Number(p.settings.find(([k]) => k === 'http_zlib_compression_level')?.[1] ?? 3);
        compress = { encoding, level };
      }
      if (p.sessionId)
        throw raise('NOT_IMPLEMENTED', 'HTTP sessions (session_id) are not supported by this test server');
      if (p.roles.length > 0) throw raise('UNKNOWN_ROLE', `There is no role \`${p.roles[0]}\` in user directories`);
      if (url.searchParams.get('compress') === '1' || url.searchParams.get('decompress') === '1')
        throw raise(
          'NOT_IMPLEMENTED',
          'The native compression of compress/decompress is not supported by this test server',
        );
      const raw = await readBody(req);
      if (raw === undefined) return;
      const query = fullQuery(p.queryParam, await decodeBody(req, raw));
      if (running.has(queryId))
        throw raise('QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING', `Query with id = ${queryId} is already running`);
      running.add(queryId);
      let out;
      try {
        out = await execute(p, query, p.defaultFormat);
      } finally {
        running.delete(queryId);
      }
      const { result, stmt, elapsedNs } = out;
      const format = stmt.insert ? undefined : (stmt.format ?? p.defaultFormat);
      const body = Buffer.from(result.bytes());
      res.setHeader('Content-Type', format ? contentTypeOf(format) : 'text/plain; charset=UTF-8');
      if (format) res.setHeader('X-ClickHouse-Format', format);
      res.setHeader('X-ClickHouse-Timezone', timezone);
      res.setHeader(
        'X-ClickHouse-Summary',
        JSON.stringify({
          read_rows: '0',
          read_bytes: '0',
          written_rows: '0',
          written_bytes: '0',
          total_rows_to_read: '0',
          result_rows: String(result.rowsRead),
          result_bytes: String(result.bytesRead),
          elapsed_ns: String(elapsedNs),
        }),
      );
      await send(res, 200, body, compress);
    } catch (err) {
      const e =
        err instanceof ServerException
          ? err
          : err instanceof Refusal
            ? raise(err.codeName, err.message)
            : fromEngineError(err, codes.get('STD_EXCEPTION') ?? 1001);
      counts.errors++;
      // The rest of a refused POST body is read, so the connection can serve the next request.
      if (!req.complete) req.resume();
      res.setHeader('X-ClickHouse-Exception-Code', String(e.code));
      res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      await send(res, httpStatusOf(e.codeName), Buffer.from(errorBody(e, version)), compress);
    }
  }

  async function send(
    res: http.ServerResponse,
    status: number,
    body: Buffer,
    compress: { encoding: ResponseEncoding; level: number } | undefined,
  ): Promise<void> {
    let out = body;
    if (compress) {
      out = await deflateAs[compress.encoding](body, compress.level);
      res.setHeader('Content-Encoding', compress.encoding);
    }
    if (res.destroyed) return;
    res.writeHead(status);
    res.end(out);
  }

  const stats = (): ServerStats => ({
    ...counts,
    running: running.size,
    ...engine,
    // Up to now while statements run, so a read during a busy spell is not behind.
    busyMs: engine.busyMs + (inEngine > 0 ? now() - busySince : 0),
  });

  const server = http.createServer((req, res) => {
    counts.requests++;
    res.setHeader('X-ClickHouse-Server-Display-Name', displayName);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const health = url.pathname === '/ping' || url.pathname === '/replicas_status';
    if (health || (url.pathname === '/' && req.method === 'GET' && url.search === '')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' });
      res.end(req.method === 'HEAD' ? undefined : 'Ok.\n');
      return;
    }
    if (url.pathname === '/test-server/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stats()));
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
      return;
    }
    void handleQuery(req, res, url);
  });
  server.keepAliveTimeout = (o.keepAliveTimeoutS ?? 30) * 1000;
  server.maxRequestsPerSocket = o.keepAliveMaxRequests ?? 1000;
  // Larger than the keep-alive timeout, so Node does not cut a slow client's next request headers.
  server.headersTimeout = server.keepAliveTimeout + 5000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    stats,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      anchor.close();
    },
  };
}
