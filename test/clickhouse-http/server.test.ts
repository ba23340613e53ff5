/**
 * The test ClickHouse HTTP server (test/support/clickhouse-http) against the
 * behaviour ClickHouse documents for its HTTP interface (docs/en/interfaces/http.md) and
 * implements in HTTPHandler: raw HTTP first, as curl would send it, then through
 * @clickhouse/client as the ingester uses it. The server runs as its own process, as in every
 * test that uses it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http/spawn.js';
import { waitFor } from '../support/wait.js';

let server: ClickHouseHttpProcess;
let dir: string;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-ch-http-'));
  server = await spawnClickHouseHttp({
    dataDir: dir,
    databases: ['edge'],
    users: { default: '', writer: 's3cret' },
  });
});
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A request to the server; `q` is the URL's query string. */
async function call(q: string, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${server.url}/${q}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}
const post = (q: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  call(q, { method: 'POST', body, headers });

/** Sends bytes on a raw socket and resolves with everything the server wrote until it closed or `waitMs` passed. */
function raw(bytes: string, o: { destroyAfterMs?: number; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(out));
    s.write(bytes);
    if (o.destroyAfterMs !== undefined) setTimeout(() => s.destroy(), o.destroyAfterMs);
    else setTimeout(() => s.end(), o.waitMs ?? 1000);
  });
}

describe('health and the query handler', () => {
  it('answers "Ok." on GET /, /ping and /replicas_status', async () => {
    for (const p of ['', 'ping', 'replicas_status']) {
      const r = await call(p);
      expect(r.status).toBe(200);
      expect(r.text).toBe('Ok.\n');
    }
    expect((await fetch(`${server.url}/ping`, { method: 'HEAD' })).status).toBe(200);
  });

  it("accounts the engine's time at /test-server/stats (this server's own path, for the benches)", async () => {
    const stats = async () => (await (await fetch(`${server.url}/test-server/stats`)).json()) as Record<string, number>;
    const before = await stats();
    expect((await post('', 'SELECT 1')).text).toBe('1\n');
    expect(
      (await post('', 'CREATE TABLE IF NOT EXISTS edge.acct (x UInt8) ENGINE = MergeTree ORDER BY x')).status,
    ).toBe(200);
    expect((await post('?query=INSERT%20INTO%20edge.acct%20FORMAT%20TSV', '1\n')).status).toBe(200);
    const after = await stats();
    // Other tests of this file may run statements in between: at least these three were counted.
    expect(after.statements! - before.statements!).toBeGreaterThanOrEqual(3);
    expect(after.inserts! - before.inserts!).toBeGreaterThanOrEqual(1);
    expect(after.engineMs!).toBeGreaterThan(before.engineMs!);
    expect(after.insertMs!).toBeGreaterThan(before.insertMs!);
    expect(after.busyMs!).toBeGreaterThan(before.busyMs!);
    expect(after.busyMs!).toBeLessThanOrEqual(after.engineMs! + 1);
    expect(after.maxRunning).toBeGreaterThanOrEqual(1);
  });

  it('takes the query from the URL, the body, or both joined by a line feed', async () => {
    expect((await call('?query=SELECT%201')).text).toBe('1\n');
    expect((await post('', 'SELECT 1')).text).toBe('1\n');
    expect((await post('?query=', 'SELECT 1')).text).toBe('1\n');
    expect((await post('?query=SELECT', '1')).text).toBe('1\n');
    // The documented counter-example: the line feed splits the keyword.
    const split = await post('?query=SEL', 'ECT 1');
    expect(split.status).toBe(400);
    expect(split.text).toMatch(/^Code: 62\. DB::Exception: Syntax error/);
  });

  it('answers in TabSeparated by default, in the FORMAT clause, default_format or X-ClickHouse-Format otherwise', async () => {
    const tsv = await call('?query=SELECT%201%20AS%20a,%20%27x%27%20AS%20b');
    expect(tsv.text).toBe('1\tx\n');
    expect(tsv.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(tsv.headers.get('content-type')).toMatch(/^text\/tab-separated-values/);
    const json = await post('', 'SELECT 1 AS a FORMAT JSONEachRow');
    expect(json.text).toBe('{"a":1}\n');
    expect(json.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect((await post('?default_format=JSONCompactEachRow', 'SELECT 1 AS a')).text).toBe('[1]\n');
    expect((await post('', 'SELECT 1 AS a', { 'X-ClickHouse-Format': 'CSV' })).text).toBe('1\n');
  });

  it('sends the query id (given or made), the summary, the time zone and the keep-alive terms', async () => {
    const r = await call('?query=SELECT%20number%20FROM%20numbers(3)&query_id=my-query-1');
    expect(r.headers.get('x-clickhouse-query-id')).toBe('my-query-1');
    const summary = JSON.parse(r.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
    expect(summary.result_rows).toBe('3');
    expect(Number(summary.elapsed_ns)).toBeGreaterThan(0);
    expect(r.headers.get('x-clickhouse-timezone')).toBeTruthy();
    expect(r.headers.get('x-clickhouse-server-display-name')).toBeTruthy();
    expect(r.headers.get('keep-alive')).toBe('timeout=30, max=1000');
    const made = await call('?query=SELECT%201');
    expect(made.headers.get('x-clickhouse-query-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('inserts, settings, databases', () => {
  it('inserts data sent after the query beginning, in any format, and with VALUES', async () => {
    expect((await post('', 'CREATE TABLE t_insert (a UInt8, s String) ENGINE = MergeTree ORDER BY a')).status).toBe(
      200,
    );
    const q = (s: string) => `?query=${encodeURIComponent(s)}`;
    const ins = await post(q('INSERT INTO t_insert FORMAT TabSeparated'), '1\tone\n2\ttwo\n');
    expect(ins.status).toBe(200);
    expect(ins.text).toBe('');
    expect(
      (await post(q('INSERT INTO t_insert (a, s) FORMAT JSONCompactEachRow'), '[3,"a;b"]\n[4,"x"]\n')).status,
    ).toBe(200);
    expect((await post('', "INSERT INTO t_insert VALUES (5, 'five'), (6, 'six;')")).status).toBe(200);
    expect((await post(q('INSERT INTO t_insert VALUES'), "(7, 'seven')")).status).toBe(200);
    expect((await call(q('SELECT count(), sum(a) FROM t_insert'))).text).toBe('7\t28\n');
  });

  it('runs GET requests read-only', async () => {
    const r = await call(`?query=${encodeURIComponent('CREATE TABLE t_get (a UInt8) ENGINE = Memory')}`);
    expect(r.status).toBe(500);
    expect(r.headers.get('x-clickhouse-exception-code')).toBe('164');
    expect(r.text).toMatch(/\(READONLY\)/);
  });

  it('applies URL settings to that query only', async () => {
    const get = (extra = '') => call(`?query=${encodeURIComponent("SELECT getSetting('max_threads')")}${extra}`);
    const before = (await get()).text;
    expect((await get('&max_threads=3')).text).toBe('3\n');
    expect((await get()).text).toBe(before);
    const limited = await post('?max_result_rows=2&result_overflow_mode=throw', 'SELECT number FROM numbers(10)');
    expect(limited.status).toBe(500);
    expect(limited.text).toMatch(/TOO_MANY_ROWS_OR_BYTES/);
    const unknown = await call('?query=SELECT%201&no_such_setting=1');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-clickhouse-exception-code')).toBe('115');
  });

  it('uses the database parameter or X-ClickHouse-Database header', async () => {
    expect((await call('?query=SELECT%20currentDatabase()&database=edge')).text).toBe('edge\n');
    expect((await post('', 'SELECT currentDatabase()', { 'X-ClickHouse-Database': 'edge' })).text).toBe('edge\n');
    expect((await call('?query=SELECT%20currentDatabase()')).text).toBe('default\n');
    const missing = await call('?query=SELECT%201&database=nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-clickhouse-exception-code')).toBe('81');
  });

  it('binds param_ values given in the escaped format to their declared types', async () => {
    const r = await post(
      `?param_s=${encodeURIComponent("it\\'s\\ta\\\\b")}&param_n=42&param_arr=${encodeURIComponent('[1,2,3]')}&param_z=%5CN`,
      'SELECT {s:String} AS s, {n:UInt32} + 1 AS n, {arr:Array(UInt64)} AS arr, {z:Nullable(String)} AS z FORMAT JSONEachRow',
    );
    expect(JSON.parse(r.text)).toEqual({ s: "it's\ta\\b", n: 43, arr: [1, 2, 3], z: null });
    const missing = await post('', 'SELECT {nope:String}');
    expect(missing.status).toBe(500);
    expect(missing.text).toMatch(/\(UNKNOWN_QUERY_PARAMETER\)/);
  });
});

describe('errors as the server returns them', () => {
  it('maps codes to statuses and writes the exception text with the version', async () => {
    const cases: Array<[string, number, string, string]> = [
      ['SELECT * FROM no_such_table', 404, '60', 'UNKNOWN_TABLE'],
      ['SELEC 1', 400, '62', 'SYNTAX_ERROR'],
      ['SELECT throwIf(1)', 500, '395', 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO'],
    ];
    for (const [query, status, code, name] of cases) {
      const r = await post('', query);
      expect(r.status, query).toBe(status);
      expect(r.headers.get('x-clickhouse-exception-code'), query).toBe(code);
      expect(r.text).toMatch(
        new RegExp(`^Code: ${code}\\. DB::Exception: .*\\(${name}\\) \\(version 26\\.7[^)]*\\)+\\n$`, 's'),
      );
    }
  });

  it('refuses more than one statement, and an empty query', async () => {
    const multi = await post('', 'SELECT 1; SELECT 2');
    expect(multi.status).toBe(400);
    expect(multi.text).toMatch(/Multi-statements are not allowed/);
    // A trailing semicolon, a semicolon in a literal or in an INSERT's data is one statement.
    expect((await post('', "SELECT 'a;b';")).text).toBe('a;b\n');
    expect((await post('', '-- only a comment\n')).text).toMatch(/Empty query/);
  });

  it('answers 411 to a POST with neither Content-Length nor chunked encoding', async () => {
    const out = await raw('POST /?query=SELECT%201 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 411/);
    expect(out).toMatch(/X-ClickHouse-Exception-Code: 381/i);
  });
});

describe('compression', () => {
  it('reads gzip, deflate and br request bodies', async () => {
    const body = 'SELECT 40 + 2';
    expect((await post('', zlib.gzipSync(body), { 'Content-Encoding': 'gzip' })).text).toBe('42\n');
    expect((await post('', zlib.deflateSync(body), { 'Content-Encoding': 'deflate' })).text).toBe('42\n');
    expect((await post('', zlib.brotliCompressSync(body), { 'Content-Encoding': 'br' })).text).toBe('42\n');
    const bad = await post('', Buffer.from('not gzip'), { 'Content-Encoding': 'gzip' });
    expect(bad.status).toBe(500);
    expect(bad.headers.get('x-clickhouse-exception-code')).toBe('354');
  });

  it('compresses the answer only with enable_http_compression=1 and Accept-Encoding', async () => {
    const get = (q: string, accept?: string) =>
      new Promise<{ encoding: string | undefined; body: Buffer; status: number }>((resolve, reject) => {
        // node:http, not fetch: fetch would decompress on its own.
        const req = net.connect(server.port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        req.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
        req.on('error', reject);
        req.on('close', () => {
          const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString();
          const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
          const encoding = /content-encoding: (\S+)/i.exec(head)?.[1];
          // Chunked: one chunk then the terminator.
          const rest = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
          const nl = rest.indexOf('\r\n');
          const size = parseInt(rest.subarray(0, nl).toString(), 16);
          resolve({ encoding, status, body: rest.subarray(nl + 2, nl + 2 + size) });
        });
        req.write(
          `GET /?${q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${accept ? `Accept-Encoding: ${accept}\r\n` : ''}\r\n`,
        );
      });
    const q = `query=${encodeURIComponent('SELECT number FROM numbers(3)')}`;
    const plain = await get(q, 'gzip');
    expect(plain.encoding).toBeUndefined();
    expect(plain.body.toString()).toBe('0\n1\n2\n');
    const gz = await get(`${q}&enable_http_compression=1`, 'gzip');
    expect(gz.encoding).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toBe('0\n1\n2\n');
    const notAsked = await get(`${q}&enable_http_compression=1`);
    expect(notAsked.encoding).toBeUndefined();
    // An error after the settings were read goes out compressed too, as the server's does.
    const err = await get(`query=${encodeURIComponent('SELECT * FROM nope')}&enable_http_compression=1`, 'gzip');
    expect(err.status).toBe(404);
    expect(zlib.gunzipSync(err.body).toString()).toMatch(/UNKNOWN_TABLE/);
  });
});

describe('authentication', () => {
  // The engine runs every query as its own default user: the server checks the credentials only.
  const q = '?query=SELECT%201';
  it('accepts Basic auth, X-ClickHouse-User/Key and user/password parameters', async () => {
    expect((await call(q, { headers: { Authorization: basic('writer', 's3cret') } })).status).toBe(200);
    expect((await call(q, { headers: { 'X-ClickHouse-User': 'writer', 'X-ClickHouse-Key': 's3cret' } })).status).toBe(
      200,
    );
    expect((await call(`${q}&user=writer&password=s3cret`)).status).toBe(200);
    // No credentials: the default user (here without a password).
    expect((await call(q)).status).toBe(200);
  });

  it('refuses a wrong password and mixed schemes with AUTHENTICATION_FAILED (403)', async () => {
    const attempts: Array<Record<string, string>> = [
      { Authorization: basic('writer', 'wrong') },
      { 'X-ClickHouse-User': 'nobody', 'X-ClickHouse-Key': '' },
      { Authorization: basic('writer', 's3cret'), 'X-ClickHouse-User': 'writer' },
    ];
    for (const headers of attempts) {
      const r = await call(q, { headers });
      expect(r.status).toBe(403);
      expect(r.headers.get('x-clickhouse-exception-code')).toBe('516');
      expect(r.text).toMatch(/\(AUTHENTICATION_FAILED\)/);
    }
  });
});

describe('connections and concurrency', () => {
  it('runs requests concurrently, each in its own session', async () => {
    // The slow query reads from a source this test holds until the duplicate has been answered: a
    // sleep of fixed length could end before the duplicate arrives on a loaded machine (or before
    // the probe below sees it running), and then the duplicate is not one.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const source = http.createServer((_req, res) => void held.then(() => res.end('x\n')));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(source.address() as AddressInfo).port}/`;
      const slow = post(
        '?query_id=slow-1',
        `SELECT a AS marker_slow_1 FROM url('${url}', 'TSV', 'a String') FORMAT Null`,
      );
      await waitFor(
        'the slow query in system.processes',
        async () =>
          (
            await post(
              '',
              "SELECT count() FROM system.processes WHERE query LIKE '%marker_slow_1%' AND query NOT LIKE '%system.processes%'",
            )
          ).text === '1\n',
      );
      const dup = await post('?query_id=slow-1', 'SELECT 1');
      expect(dup.headers.get('x-clickhouse-exception-code')).toBe('216');
      release();
      expect((await slow).status).toBe(200);
    } finally {
      release();
      source.closeAllConnections();
      source.close();
    }
  });

  it('runs nothing from a request cut off while sending its body', async () => {
    await post('', 'CREATE TABLE t_cut (a UInt8) ENGINE = MergeTree ORDER BY a');
    const data = '1\n2\n3\n';
    await raw(
      `POST /?query=${encodeURIComponent('INSERT INTO t_cut FORMAT TabSeparated')} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${data}`,
      { destroyAfterMs: 300 },
    );
    expect((await post('', 'SELECT count() FROM t_cut')).text).toBe('0\n');
  });

  it('finishes a query whose client went away (documented: requests do not stop when the connection is lost)', async () => {
    await post('', 'CREATE TABLE t_gone (a UInt64) ENGINE = MergeTree ORDER BY a');
    const body = 'INSERT INTO t_gone SELECT number FROM numbers(3) WHERE sleepEachRow(0.3) = 0';
    await raw(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, {
      destroyAfterMs: 200,
    });
    // 0.9 s of sleeps, which a loaded machine stretches: a generous deadline.
    await waitFor('three rows in t_gone', async () => (await post('', 'SELECT count() FROM t_gone')).text === '3\n', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
  });
});

describe('through @clickhouse/client', () => {
  let client: ClickHouseClient;
  beforeAll(() => {
    client = createClient({
      url: server.urlFor({ user: 'writer', password: 's3cret', database: 'edge' }),
      compression: { request: true, response: true },
      // The errors provoked here would otherwise be printed by the client too.
      log: { level: ClickHouseLogLevel.OFF },
    });
  });
  afterAll(async () => {
    await client?.close();
  });

  it('runs commands, inserts and parameterised queries with compression both ways', async () => {
    expect(await client.ping()).toEqual({ success: true });
    await client.command({ query: 'CREATE TABLE t_client (a UInt32, s String) ENGINE = MergeTree ORDER BY a' });
    await client.insert({
      table: 't_client',
      values: [
        { a: 1, s: 'one\ttab' },
        { a: 2, s: "quo'te" },
      ],
      format: 'JSONEachRow',
    });
    const rs = await client.query({
      query: 'SELECT currentDatabase() AS db, groupArray(s) AS s FROM t_client WHERE a <= {max:UInt32}',
      query_params: { max: 2 },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ db: 'edge', s: ['one\ttab', "quo'te"] }]);
  });

  it('turns an error answer into a ClickHouseError with the code and type', async () => {
    const err = (await client.query({ query: 'SELECT * FROM missing_table' }).catch((e: unknown) => e)) as {
      code?: string;
      type?: string;
    };
    expect(err).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('keeps per-query clickhouse_settings to that query', async () => {
    const read = async (s?: Record<string, number>) =>
      Number(
        (
          await (
            await client.query({
              query: "SELECT getSetting('max_block_size') AS v",
              format: 'JSONEachRow',
              ...(s ? { clickhouse_settings: s } : {}),
            })
          ).json<{ v: string }>()
        )[0]?.v,
      );
    const before = await read();
    expect(await read({ max_block_size: 1234 })).toBe(1234);
    expect(await read()).toBe(before);
  });
});
