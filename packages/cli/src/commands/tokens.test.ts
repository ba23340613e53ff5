/** The tokens commands against a real ingester API (embedded ClickHouse, HTTP on loopback). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startRig, type Rig } from '../../../../test/support/api-rig.js';
import { captureIo } from '../../../../test/support/io.js';
import { parseCreateArgs, parseRevokeArgs, runTokensCreate, runTokensList, runTokensRevoke } from './tokens.js';

const io = captureIo;

describe('edge-telemetry tokens create|list|revoke', () => {
  let rig: Rig;
  let url: string;

  beforeAll(async () => {
    rig = await startRig('et-cli-tokens-');
    const ing = await rig.ingester();
    url = await ing.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => rig?.close());

  it('creates a token that works, lists it without its secret and revokes it', async () => {
    const c = io();
    expect(
      await runTokensCreate(
        ['--name', 'ops laptop', '--role', 'engineer', '--expires-days', '7', '--url', url, '--token', ADMIN_TOKEN],
        c.io,
      ),
    ).toBe(0);
    const [, id] = /^created (tk_[0-9a-f]{16}) "ops laptop" \(engineer, expires /.exec(c.out()) ?? [];
    const secret = c.out().trim().split('\n').at(-1) as string;
    expect(id).toBeDefined();
    expect(secret).toMatch(/^et_/);
    expect((await fetch(`${url}/api/v1/fleet`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);

    const l = io();
    expect(await runTokensList(['--url', url, '--token', ADMIN_TOKEN], l.io)).toBe(0);
    expect(l.out()).toMatch(new RegExp(`^ID +ROLE +NAME`));
    expect(l.out()).toContain(`${id}  engineer  ops laptop`);
    expect(l.out()).not.toContain(secret);

    const r = io();
    expect(await runTokensRevoke([id as string, '--url', url, '--token', ADMIN_TOKEN, '--json'], r.io)).toBe(0);
    expect(JSON.parse(r.out())).toMatchObject({ id, revokedBy: 'bootstrap-admin (bootstrap)' });
    expect((await fetch(`${url}/api/v1/fleet`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  });

  it('reports the API refusal with its code (exit 1) and bad usage with the usage line (exit 2)', async () => {
    const noToken = io();
    expect(
      await runTokensList(['--url', url, '--token', 'et_wrong-token-00000000000000000000000000000'], noToken.io),
    ).toBe(1);
    expect(noToken.err()).toContain('HTTP 401 ET_ERR_UNAUTHENTICATED');
    const bad = io();
    expect(await runTokensCreate(['--name', 'x', '--role', 'root', '--url', url], bad.io)).toBe(2);
    expect(bad.err()).toContain('--role must be one of viewer, engineer, admin');
    expect(bad.err()).toContain('usage: edge-telemetry tokens');
  });

  it('takes the API and token from the environment when no flag is given', () => {
    const env = { EDGE_TELEMETRY_URL: 'http://h:1/', EDGE_TELEMETRY_ADMIN_TOKEN: 'et_env' };
    expect(parseCreateArgs(['--name', 'n', '--role', 'viewer'], env)).toMatchObject({
      url: 'http://h:1',
      token: 'et_env',
      body: { name: 'n', role: 'viewer' },
    });
    expect(parseRevokeArgs(['tk_0123456789abcdef'], { ...env, EDGE_TELEMETRY_TOKEN: 'et_user' })).toMatchObject({
      token: 'et_user',
      id: 'tk_0123456789abcdef',
    });
    expect(() => parseRevokeArgs(['nope'], env)).toThrow(/token id/);
  });
});
