import { captureIo } from '../../../../test/support/io.js';
import { describe, expect, it } from 'vitest';
import { endedLine, formatProgress, parsePullArgs, runLogsPull } from './logs-pull.js';

describe('logs pull', () => {
  it('builds the request from flags, with URL and token from flags or the environment', () => {
    const a = parsePullArgs(
      [
        '--node',
        'gw-1',
        '--since',
        '2h',
        '--container',
        'api',
        '--grep',
        'timeout',
        '--level',
        'warn',
        '--tail',
        '100',
        '-o',
        'out.log',
      ],
      {
        EDGE_TELEMETRY_URL: 'http://center:8080/',
        EDGE_TELEMETRY_TOKEN: 'secret',
      },
    );
    expect(a).toEqual({
      url: 'http://center:8080',
      token: 'secret',
      node: 'gw-1',
      body: { since: '2h', container: 'api', grep: 'timeout', level: 'warn', tail: 100 },
      follow: false,
      output: 'out.log',
      from: 0,
    });
    expect(
      parsePullArgs(['--node', 'n', '--since', '1h', '--url', 'http://x:1', '--token', 't', '--follow'], {
        EDGE_TELEMETRY_TOKEN: 'env',
      }),
    ).toMatchObject({ url: 'http://x:1', token: 't', follow: true });
    // The token lookup of every API command (the top-level usage says so): the admin token `start`
    // uses is the last resort, for a new pull and an attach alike.
    expect(parsePullArgs(['--node', 'n', '--since', '1h'], { EDGE_TELEMETRY_ADMIN_TOKEN: 'admin' })).toMatchObject({
      token: 'admin',
    });
    expect(
      parsePullArgs(['--id', 'p1'], { EDGE_TELEMETRY_TOKEN: 'env', EDGE_TELEMETRY_ADMIN_TOKEN: 'admin' }),
    ).toMatchObject({ token: 'env' });
    expect(parsePullArgs(['--id', 'p1'], { EDGE_TELEMETRY_ADMIN_TOKEN: 'admin' })).toMatchObject({ token: 'admin' });
    expect(() => parsePullArgs(['--since', '2h'], {})).toThrow(/--node/);
    expect(() => parsePullArgs(['--node', 'n', '--since', '2h', '--level', 'loud'], {})).toThrow(/--level/);
    expect(() => parsePullArgs(['--node', 'n', '--since', '2h', '--tail', '-3'], {})).toThrow();
  });

  it('--id attaches to a pull already asked for, and takes none of the options that make a request', () => {
    expect(parsePullArgs(['--id', 'Ab_3-x', '-o', 'f.log'], { EDGE_TELEMETRY_TOKEN: 't' })).toMatchObject({
      id: 'Ab_3-x',
      token: 't',
      body: {},
      output: 'f.log',
    });
    expect(() => parsePullArgs(['--id', 'p1', '--node', 'n', '--since', '2h'], {})).toThrow(
      '--id attaches to a pull already asked for; it takes no --node, --since',
    );
    expect(() => parsePullArgs(['--id', '../tokens'], {})).toThrow(/not a pull id/);
    // --from resumes an attach after the lines a cut run wrote.
    expect(parsePullArgs(['--id', 'p1', '--from', '2200', '-o', 'f.log'], {})).toMatchObject({ id: 'p1', from: 2200 });
    expect(parsePullArgs(['--id', 'p1'], {})).toMatchObject({ from: 0 });
    expect(() => parsePullArgs(['--id', 'p1', '--from=x1'], {})).toThrow('--from x1: not a line count');
    expect(() => parsePullArgs(['--node', 'n', '--since', '2h', '--from', '5'], {})).toThrow(/give it with --id/);
  });

  it('shows rate alone until the total is known, then a bar and an ETA', () => {
    const running = formatProgress(
      { id: 'p', state: 'running', linesReceived: 12_345, bytesReceived: 2_000_000 },
      4000,
    );
    expect(running).toBe('running   12,345 lines  2.0 MB  500.0 kB/s');
    const known = formatProgress(
      { id: 'p', state: 'running', linesReceived: 12_345, bytesReceived: 2_000_000, bytesExpected: 8_000_000 },
      4000,
      8,
    );
    expect(known).toBe('[##------]  25%  running   12,345 lines  2.0 MB  500.0 kB/s  ETA 12s');
  });

  it('exits 2 on bad usage and 1 with the reason when the API cannot be reached', async () => {
    const u = captureIo();
    expect(await runLogsPull(['--node', 'n'], u.io, {})).toBe(2);
    expect(u.err()).toMatch(/^ET_ERR_USAGE: --since is required/);
    const t = captureIo();
    expect(await runLogsPull(['--node', 'n', '--since', 'banana'], t.io, {})).toBe(2);
    expect(t.err()).toMatch(
      /^ET_ERR_USAGE: --since banana: not a time \(epoch ms, ISO-8601, or a duration such as 2h\)/,
    );
    const d = captureIo();
    expect(
      await runLogsPull(['--node', 'n', '--since', '2h'], d.io, { EDGE_TELEMETRY_URL: 'http://127.0.0.1:9' }),
    ).toBe(1);
    expect(d.err()).toMatch(/^ET_ERR_UNREACHABLE: http:\/\/127\.0\.0\.1:9/);
  });

  it("shows a failed pull's reason, which may be the node's text, with its control characters as escapes", () => {
    const line = endedLine('p1', 'failed', 'ET_ERR_PULL_NODE: \u001b]52;c;ZWNobyBoaQ==\u0007\u001b[2Jok');
    expect(line).toBe('pull p1 failed: ET_ERR_PULL_NODE: \\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2Jok\n');
    expect(endedLine('p1', 'expired', undefined)).toBe('pull p1 expired: no reason given\n');
  });
});
