/**
 * Token lifecycle through the API (create, use, list, revoke), secrets at rest (the table holds
 * only hashes), the audit trail of admin actions and refusals, per-token rate limits and the
 * security headers on every kind of response.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type Ingester } from '@edge-telemetry/ingester';
import { createTokenStore } from '../../../packages/ingester/src/auth/token-store.js';
import { ADMIN_TOKEN, bearer, startRig, type Rig } from '../../support/api-rig.js';

interface Created {
  id: string;
  name: string;
  role: string;
  token: string;
}

describe('API tokens, audit, rate limits and headers', () => {
  let rig: Rig;
  let ing: Ingester;
  let limited: Ingester;
  const call = (i: Ingester, method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, payload?: unknown) =>
    i.app.inject({
      method,
      url,
      headers: bearer(token),
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  beforeAll(async () => {
    rig = await startRig('et-api-tokens-');
    ing = await rig.ingester();
    // A second ingester on the same store with a tiny bucket: 3 requests, then about one per 100 s.
    limited = await rig.ingester({ rateLimitBurst: 3, rateLimitPerSecond: 0.01 });
  });
  afterAll(async () => rig?.close());

  it('creates a token whose secret works once shown, lists it without the secret, and revokes it at once', async () => {
    const res = await call(ing, 'POST', '/api/v1/tokens', ADMIN_TOKEN, {
      name: 'grafana dashboards',
      role: 'viewer',
      expiresInDays: 30,
    });
    expect(res.statusCode).toBe(201);
    const t = res.json<Created>();
    expect(t).toMatchObject({ name: 'grafana dashboards', role: 'viewer', createdBy: 'bootstrap-admin (bootstrap)' });
    expect(t.token).toMatch(/^et_[A-Za-z0-9_-]{43}$/);

    expect((await call(ing, 'GET', '/api/v1/nodes', t.token)).statusCode).toBe(200);
    // Another ingester sharing the store finds it too (its cache loads on first use).
    expect((await call(limited, 'GET', '/api/v1/nodes', t.token)).statusCode).toBe(200);

    const list = await call(ing, 'GET', '/api/v1/tokens', ADMIN_TOKEN);
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(t.token);
    expect(
      list.json<{ tokens: { id: string; expiresAt?: string }[] }>().tokens.find((x) => x.id === t.id)?.expiresAt,
    ).toBeDefined();

    const revoked = await call(ing, 'DELETE', `/api/v1/tokens/${t.id}`, ADMIN_TOKEN);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: t.id, revokedBy: 'bootstrap-admin (bootstrap)' });
    const after = await call(ing, 'GET', '/api/v1/nodes', t.token);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'ET_ERR_UNAUTHENTICATED' });
    expect((await call(ing, 'DELETE', '/api/v1/tokens/tk_0123456789abcdef', ADMIN_TOKEN)).statusCode).toBe(404);
  });

  it('stops accepting a token when it expires', async () => {
    let t = Date.now();
    const store = createTokenStore({ client: rig.client, bootstrapSecret: ADMIN_TOKEN, cacheMs: 60_000, now: () => t });
    const { token, record } = await store.create({
      name: 'short-lived',
      role: 'viewer',
      createdBy: 'test',
      expiresAt: t + 60_000,
    });
    expect(await store.verify(token)).toEqual({ id: record.id, name: 'short-lived', role: 'viewer' });
    t += 60_000;
    expect(await store.verify(token)).toBeUndefined();
  });

  it('keeps only SHA-256 hashes at rest: no secret appears anywhere in the token table', async () => {
    const made = await Promise.all(
      ['engineer', 'admin'].map(async (role) =>
        (await call(ing, 'POST', '/api/v1/tokens', ADMIN_TOKEN, { name: `at-rest-${role}`, role })).json<Created>(),
      ),
    );
    const rs = await rig.client.query({ query: 'SELECT * FROM et_api_tokens FINAL', format: 'JSONEachRow' });
    const rows = await rs.json<{ TokenId: string; TokenHash: string }>();
    const dump = JSON.stringify(rows);
    for (const t of made) {
      expect(dump).not.toContain(t.token);
      expect(dump).not.toContain(t.token.slice(3, 20));
      expect(rows.find((r) => r.TokenId === t.id)?.TokenHash).toBe(createHash('sha256').update(t.token).digest('hex'));
    }
    expect(dump).not.toContain(ADMIN_TOKEN);
  });

  it('audits token creation, revocation and refused requests with who, what, when and outcome; admins only', async () => {
    const viewer = (
      await call(ing, 'POST', '/api/v1/tokens', ADMIN_TOKEN, { name: 'audit-viewer', role: 'viewer' })
    ).json<Created>();
    expect(
      (await call(ing, 'POST', '/api/v1/tokens', viewer.token, { name: 'escalate', role: 'admin' })).statusCode,
    ).toBe(403);
    expect(
      (await call(ing, 'POST', '/api/v1/tokens', ADMIN_TOKEN, { name: 'bad role', role: 'root' })).statusCode,
    ).toBe(400);
    expect((await call(ing, 'GET', '/api/v1/audit', viewer.token)).statusCode).toBe(403);

    const res = await call(ing, 'GET', '/api/v1/audit?limit=500', ADMIN_TOKEN);
    expect(res.statusCode).toBe(200);
    const entries = res.json<{
      entries: {
        at: string;
        who: string;
        action: string;
        accepted: boolean;
        reason: string;
        detail: Record<string, unknown>;
      }[];
    }>().entries;
    expect(entries.find((e) => e.action === 'token.create' && e.detail.tokenId === viewer.id)).toMatchObject({
      who: 'bootstrap-admin (bootstrap)',
      accepted: true,
    });
    expect(entries.find((e) => e.action === 'token.revoke' && e.accepted)).toBeDefined();
    expect(entries.find((e) => e.action === 'token.create' && !e.accepted)?.reason).toMatch(/^refused: /);
    const forbidden = entries.find(
      (e) =>
        e.action === 'forbidden' && e.who === `audit-viewer (${viewer.id})` && e.detail.route === 'POST /api/v1/tokens',
    );
    expect(forbidden).toMatchObject({ accepted: false, detail: { route: 'POST /api/v1/tokens', actorRole: 'viewer' } });
    expect(Date.parse(forbidden?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // Secrets never reach the audit trail.
    expect(res.body).not.toContain(viewer.token);
    expect(res.body).not.toContain(ADMIN_TOKEN);
  });

  it('limits each token on its own: 429 with Retry-After past the burst, other tokens unaffected', async () => {
    const a = (
      await call(limited, 'POST', '/api/v1/tokens', ADMIN_TOKEN, { name: 'rl-a', role: 'viewer' })
    ).json<Created>();
    const b = (
      await call(limited, 'POST', '/api/v1/tokens', ADMIN_TOKEN, { name: 'rl-b', role: 'viewer' })
    ).json<Created>();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(limited, 'GET', '/api/v1/nodes', a.token)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const res = await call(limited, 'GET', '/api/v1/nodes', a.token);
    expect(res.json()).toMatchObject({ code: 'ET_ERR_RATE_LIMITED', statusCode: 429 });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await call(limited, 'GET', '/api/v1/nodes', b.token)).statusCode).toBe(200);
    // Wrong tokens share one bucket per address: guessing is throttled too.
    const guesses = [];
    for (let i = 0; i < 5; i++)
      guesses.push(
        (await call(limited, 'GET', '/api/v1/nodes', `et_guess-${i}-000000000000000000000000000000000`)).statusCode,
      );
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
  });

  it('takes the first admin token from EDGE_TELEMETRY_ADMIN_TOKEN, or makes one per start when none is set', async () => {
    expect(resolveConfig({}, { EDGE_TELEMETRY_ADMIN_TOKEN: ADMIN_TOKEN }).auth.adminToken).toBe(ADMIN_TOKEN);
    expect(() => resolveConfig({}, { EDGE_TELEMETRY_ADMIN_TOKEN: 'short' })).toThrow(/auth.adminToken/);
    expect(ing.auth.adminToken).toEqual({ token: ADMIN_TOKEN, generated: false });
    const made = await rig.ingester({ adminToken: undefined });
    expect(made.auth.adminToken.generated).toBe(true);
    expect(made.auth.adminToken.token).toMatch(/^et_[A-Za-z0-9_-]{43}$/);
    expect((await call(made, 'GET', '/api/v1/tokens', made.auth.adminToken.token)).statusCode).toBe(200);
    // Each process makes its own: one ingester's made-up token opens no other.
    expect((await call(ing, 'GET', '/api/v1/tokens', made.auth.adminToken.token)).statusCode).toBe(401);
  });

  it('sets the security headers on API, probe, docs, UI, error and not-found responses', async () => {
    const cases: { url: string; token?: string; csp: RegExp }[] = [
      { url: '/api/v1/nodes', token: ADMIN_TOKEN, csp: /^default-src 'none'/ },
      { url: '/api/v1/nodes', csp: /^default-src 'none'/ },
      { url: '/healthz', csp: /^default-src 'none'/ },
      { url: '/no/such/route', csp: /^default-src 'none'/ },
      { url: '/docs/static/index.html', csp: /^default-src 'self'; script-src 'self'/ },
      { url: '/ui/', csp: /^default-src 'none'; script-src 'self'/ },
    ];
    for (const c of cases) {
      const res = await call(ing, 'GET', c.url, c.token);
      expect(res.headers['x-content-type-options'], c.url).toBe('nosniff');
      expect(res.headers['x-frame-options'], c.url).toBe('DENY');
      expect(res.headers['referrer-policy'], c.url).toBe('no-referrer');
      expect(res.headers['content-security-policy'], c.url).toMatch(c.csp);
      expect(res.headers['content-security-policy'], c.url).toContain("frame-ancestors 'none'");
      // No external source anywhere: only 'self', 'none', data: and inline styles for swagger-ui.
      expect(String(res.headers['content-security-policy'])).not.toMatch(/https?:|\*/);
    }
    expect((await call(ing, 'GET', '/api/v1/nodes', ADMIN_TOKEN)).headers['cache-control']).toBe('no-store');
  });
});
