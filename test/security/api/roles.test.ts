/**
 * Every role against every route the app registers (read from the auth hook's route list, so a
 * route added later is covered without touching this file): no token -> 401, a role below the
 * route's -> 403, at or above -> past the check. Bodies are empty, so an admitted request stops
 * at validation or "not found" and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingester } from '@edge-telemetry/ingester';
import { ADMIN_TOKEN, bearer, startRig, type Rig } from '../../support/api-rig.js';
import { ENGINES } from '../../support/engines.js';

type Caller = 'anonymous' | 'viewer' | 'engineer' | 'admin';
const RANK: Record<Caller, number> = { anonymous: -1, viewer: 0, engineer: 1, admin: 2 };

/** A concrete URL for a route pattern: parameters get values their schemas accept. */
function concrete(url: string): string {
  return url
    .replace(':node', 'gw-roles-1')
    .replace('/tokens/:id', '/tokens/tk_00000000000000ff')
    .replace(':id', 'pull-does-not-exist')
    .replace(/\*$/, 'index.html')
    .replace(/:[A-Za-z]+/g, 'x');
}

describe.each(ENGINES)('API roles: every role against every route (%s ClickHouse)', (engine) => {
  let rig: Rig;
  let ing: Ingester;
  const tokens: Record<Caller, string | undefined> = {
    anonymous: undefined,
    viewer: undefined,
    engineer: undefined,
    admin: ADMIN_TOKEN,
  };

  beforeAll(async () => {
    rig = await startRig('et-api-roles-', engine);
    ing = await rig.ingester();
    for (const role of ['viewer', 'engineer'] as const) {
      const res = await ing.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: bearer(ADMIN_TOKEN),
        payload: { name: `roles-${role}`, role },
      });
      expect(res.statusCode).toBe(201);
      tokens[role] = res.json<{ token: string }>().token;
    }
  });
  afterAll(async () => rig?.close());

  it('knows the routes that matter, with the roles the issue asks for; nothing under /api/ is public', () => {
    const access = new Map(ing.auth.routes().map((r) => [`${r.method} ${r.url}`, r.access]));
    expect(access.get('GET /api/v1/nodes')).toBe('viewer');
    expect(access.get('GET /api/v1/fleet')).toBe('viewer');
    expect(access.get('POST /api/v1/nodes/:node/log-pulls')).toBe('engineer');
    expect(access.get('GET /api/v1/log-pulls/:id/lines')).toBe('engineer');
    expect(access.get('POST /api/v1/tokens')).toBe('admin');
    expect(access.get('DELETE /api/v1/tokens/:id')).toBe('admin');
    expect(access.get('GET /api/v1/audit')).toBe('admin');
    expect(access.get('GET /healthz')).toBe('public');
    expect(access.get('GET /metrics')).toBe('public');
    for (const r of ing.auth.routes())
      if (r.url.startsWith('/api/')) expect(r.access, `${r.method} ${r.url}`).not.toBe('public');
  });

  it('admits or refuses each caller by role, with a coded JSON body', async () => {
    const routes = ing.auth.routes().filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(15);
    const seen: string[] = [];
    for (const r of routes) {
      for (const caller of Object.keys(RANK) as Caller[]) {
        const res = await ing.app.inject({
          method: r.method as 'GET',
          url: concrete(r.url),
          headers: bearer(tokens[caller]),
          ...(r.method === 'POST' ? { payload: {} } : {}),
        });
        const what = `${caller} ${r.method} ${r.url} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (r.access === 'public') {
          expect([401, 403], what).not.toContain(res.statusCode);
        } else if (caller === 'anonymous') {
          expect(res.statusCode, what).toBe(401);
          expect(res.json(), what).toMatchObject({ code: 'ET_ERR_UNAUTHENTICATED', statusCode: 401 });
          expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        } else if (RANK[caller] < RANK[r.access]) {
          expect(res.statusCode, what).toBe(403);
          expect(res.json(), what).toMatchObject({ code: 'ET_ERR_FORBIDDEN', statusCode: 403 });
        } else {
          expect([401, 403, 429], what).not.toContain(res.statusCode);
        }
        seen.push(`${caller} ${r.method} ${r.url} ${res.statusCode}`);
      }
    }
    // The engineer is the one role that can pull but not manage tokens.
    expect(seen).toContain('engineer POST /api/v1/tokens 403');
    expect(seen.some((s) => /^engineer POST \/api\/v1\/nodes\/:node\/log-pulls (?!40[13])/.test(s))).toBe(true);
    expect(seen).toContain('viewer POST /api/v1/nodes/:node/log-pulls 403');
  });

  it('refuses a wrong, malformed or non-Bearer credential as unauthenticated', async () => {
    for (const authorization of [
      'Bearer et_not-a-real-token-000000000000000000000000',
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      `Bearer ${ADMIN_TOKEN} extra`,
      'Bearer \u00ff\u00fe',
    ]) {
      const res = await ing.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.json<{ code: string }>().code).toBe('ET_ERR_UNAUTHENTICATED');
    }
  });
});
