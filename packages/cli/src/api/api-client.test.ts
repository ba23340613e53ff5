import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, apiUrl } from './api-client.js';
import { runLogsPull } from '../commands/logs-pull.js';
import { captureIo } from '../../../../test/support/io.js';

/** An API stand-in answering each path with a fixed status and the API's JSON error body. */
const ANSWERS: Record<string, [number, Record<string, unknown>]> = {
  '/node': [404, { code: 'ET_ERR_NODE_UNKNOWN', message: 'ET_ERR_NODE_UNKNOWN: no such node (gw-9)', statusCode: 404 }],
  '/plain': [400, { code: 'ET_ERR_BAD_REQUEST', message: 'body/since must be string', statusCode: 400 }],
  '/auth': [401, { code: 'ET_ERR_UNAUTHORIZED', message: 'a bearer token is required', statusCode: 401 }],
};

describe('apiFetch failures', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const [status, body] = ANSWERS[req.url ?? ''] ?? [500, {}];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('names the code once', async () => {
    await expect(apiFetch({ url, token: 't' }, '/node')).rejects.toThrow(
      /^HTTP 404 ET_ERR_NODE_UNKNOWN: no such node \(gw-9\)$/,
    );
    await expect(apiFetch({ url, token: 't' }, '/plain')).rejects.toThrow(
      /^HTTP 400 ET_ERR_BAD_REQUEST: body\/since must be string$/,
    );
  });

  it('says how to give a token when none was given', async () => {
    await expect(apiFetch({ url, token: undefined }, '/auth')).rejects.toThrow(
      /^HTTP 401 ET_ERR_UNAUTHORIZED: a bearer token is required; give a token with --token or in EDGE_TELEMETRY_TOKEN/,
    );
    await expect(apiFetch({ url, token: 'wrong' }, '/auth')).rejects.toThrow(/is required$/);
  });
});

describe('apiUrl', () => {
  it('takes an http(s) URL from --url, then EDGE_TELEMETRY_URL, without trailing slashes', () => {
    expect(apiUrl('https://ingest.example:8443/', {})).toBe('https://ingest.example:8443');
    expect(apiUrl(undefined, { EDGE_TELEMETRY_URL: 'http://10.0.0.2:8080' })).toBe('http://10.0.0.2:8080');
    expect(apiUrl(undefined, {})).toBe('http://127.0.0.1:8080');
  });

  it('refuses anything else as bad usage, naming where it came from', async () => {
    expect(() => apiUrl('notaurl', {})).toThrow(/^--url notaurl: not an http\(s\) URL/);
    expect(() => apiUrl(undefined, { EDGE_TELEMETRY_URL: 'mqtt://x:1883' })).toThrow(/^EDGE_TELEMETRY_URL mqtt:/);
    const c = captureIo();
    const code = await runLogsPull(['--url', 'notaurl', '--node', 'gw-1', '--since', '1h'], c.io, {});
    expect(code).toBe(2);
    expect(c.err()).toMatch(/^ET_ERR_USAGE: --url notaurl: not an http\(s\) URL/);
  });
});
