/**
 * Hostile input: every API route that takes a body (found from the app's registered routes, so a
 * new one must add a valid example here or this test fails) gets seeded mutations of a valid body
 * (deep nesting, huge strings, wrong types, invalid UTF-8, truncation, poisoning keys), sent with
 * an admin token so that the body is parsed. Each is answered 2xx (still valid) or 4xx with an
 * ET_ERR_ code, never 5xx; the app keeps answering and the heap stays bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingester } from '@edge-telemetry/ingester';
import { seededRng } from '../../packages/protocol/src/testing/index.js';
import { ADMIN_TOKEN, startRig, type Rig } from '../support/api-rig.js';
import { mutateJson } from './mutate.js';
import { heapBound } from './heap.js';

/** Cases per body route; each refused one may write an audit row (10-25 ms on the embedded engine). */
export const CASES_PER_ROUTE = 400;

const VALID_BODIES: Record<string, { url: string; body: Record<string, unknown> }> = {
  'POST /api/v1/tokens': { url: '/api/v1/tokens', body: { name: 'fuzz', role: 'viewer', expiresInDays: 1 } },
  'PUT /api/v1/config/fleet': {
    url: '/api/v1/config/fleet',
    body: {
      options: { logs: { defaults: { filter: { minLevel: 'warn', exclude: ['^GET /healthz'] } } } },
      rollout: { canaryShare: 0.1, waves: 2, holdMs: 1000 },
    },
  },
  'PUT /api/v1/config/groups/:label/:value': {
    url: '/api/v1/config/groups/site/fuzz',
    body: { options: { logs: { defaults: { verbatimLevel: 'error' } } }, rollout: false },
  },
  'PUT /api/v1/config/nodes/:node': {
    url: '/api/v1/config/nodes/gw-fuzz-1',
    body: { options: { logs: { maxLogsPerWindow: 100 } } },
  },
  // No body of their own (a rollout id in the path): whatever is sent is parsed and ignored.
  'POST /api/v1/config/rollouts/:id/halt': { url: '/api/v1/config/rollouts/0123456789abcdef/halt', body: {} },
  'POST /api/v1/config/rollouts/:id/resume': { url: '/api/v1/config/rollouts/0123456789abcdef/resume', body: {} },
  'POST /api/v1/nodes/:node/debug': {
    url: '/api/v1/nodes/gw-fuzz-1/debug',
    body: { forMs: 60_000, extraBytes: 100_000, level: 'debug', containers: ['api*'] },
  },
  'POST /api/v1/nodes/:node/log-pulls': {
    url: '/api/v1/nodes/gw-fuzz-1/log-pulls',
    body: {
      since: '2h',
      until: Date.now(),
      container: 'api',
      level: 'warn',
      grep: 'x',
      tail: 10,
      maxBytes: 1000,
      expiresInS: 60,
    },
  },
};

describe('fuzzed API bodies (seeded)', () => {
  let rig: Rig;
  let ing: Ingester;

  beforeAll(async () => {
    rig = await startRig('et-fuzz-api-');
    // No rate limit here: every case must reach the body parser and the schema, not the limiter.
    ing = await rig.ingester({ rateLimitBurst: 1_000_000 });
  });
  afterAll(async () => rig?.close());

  it(`${CASES_PER_ROUTE} mutated bodies per body-taking route: 2xx or 4xx with a code, never 5xx`, async () => {
    const bodyRoutes = ing.auth.routes().filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
    expect(bodyRoutes.length).toBeGreaterThanOrEqual(2);
    const heap = heapBound();
    const rng = seededRng(0xa91b0d1);
    const statuses: Record<string, number> = {};
    const kinds = new Set<string>();
    for (const r of bodyRoutes) {
      const key = `${r.method} ${r.url}`;
      const example = VALID_BODIES[key];
      expect(example, `no valid example body for ${key}: add one to VALID_BODIES`).toBeDefined();
      if (!example) continue;
      for (let i = 0; i < CASES_PER_ROUTE; i++) {
        const m = mutateJson(rng, example.body);
        kinds.add(m.kind);
        const res = await ing.app.inject({
          method: r.method as 'POST',
          url: example.url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          payload: m.body,
        });
        statuses[`${key} ${res.statusCode}`] = (statuses[`${key} ${res.statusCode}`] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) continue;
        if (res.statusCode === 429 || res.statusCode === 401 || res.statusCode === 403)
          throw new Error(`refused before the body was read: ${res.statusCode} ${res.body}`);
        const what = `${key} case ${i} (${m.kind}) -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        if (res.statusCode < 400 || res.statusCode >= 500) throw new Error(`not a client error: ${what}`);
        const body = res.json<{ code?: string; statusCode?: number; message?: string }>();
        if (!/^ET_ERR_[A-Z_]+$/.test(body.code ?? '') || body.statusCode !== res.statusCode || !body.message)
          throw new Error(`refusal without a code and reason: ${what}`);
      }
    }
    // Both kinds of answer happen (fastify's validator drops unknown keys and coerces scalars, so
    // some mutants are valid requests), every mutation kind ran, and the app still serves.
    const refused = Object.entries(statuses)
      .filter(([k]) => / 4\d\d$/.test(k))
      .reduce((a, [, n]) => a + n, 0);
    expect(refused).toBeGreaterThan(bodyRoutes.length * CASES_PER_ROUTE * 0.5);
    expect(Object.keys(statuses).some((k) => k.endsWith(' 413'))).toBe(true);
    expect(kinds.size).toBeGreaterThanOrEqual(13);
    expect((await ing.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await heap.expectWithin(96 * 1024 * 1024);
    // 8 body routes x 400 cases, several statements each on the embedded engine: ~90 s alone on a
    // loaded 2-core machine, so a generous bound (nothing here is timed).
  }, 300_000);

  it('refuses a body with invalid UTF-8 instead of repairing it', async () => {
    const payload = Buffer.concat([Buffer.from('{"name":"ok'), Buffer.from([0xff]), Buffer.from('","role":"viewer"}')]);
    const res = await ing.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ET_ERR_BAD_REQUEST', message: expect.stringContaining('UTF-8') });
  });
});
