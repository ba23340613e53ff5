/**
 * Cancelling a log pull: the engineer who requested it and an admin may; another engineer gets
 * 403 ET_ERR_PULL_NOT_REQUESTER naming the requester, the pull goes on, and the attempt is in the
 * audit table and counted in /metrics. Through the whole app (auth hook, routes, coordinator) on
 * migrated ClickHouse, with two engineers' own tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingester } from '@edge-telemetry/ingester';
import { ADMIN_TOKEN, bearer, startRig, type Rig } from '../../support/api-rig.js';

describe('log pull cancel: the requester or an admin', () => {
  let rig: Rig;
  let ing: Ingester;
  const tokens: Record<'alice' | 'bob' | 'viewer', string> = { alice: '', bob: '', viewer: '' };
  const NODE = 'gw-cancel-1';

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) => {
    const res = await ing.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  const newPull = async (token: string) => {
    const r = await call('POST', `/api/v1/nodes/${NODE}/log-pulls`, token, { since: '1h' });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.id as string;
  };
  const cancel = (id: string, token: string) => call('DELETE', `/api/v1/log-pulls/${id}`, token);
  const state = async (id: string) => (await call('GET', `/api/v1/log-pulls/${id}`, ADMIN_TOKEN)).body.state;
  const cancelAudit = async (pullId: string) => {
    const r = await call('GET', `/api/v1/audit?action=cancel&from=${Date.now() - 3_600_000}`, ADMIN_TOKEN);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const entries = r.body.entries as { who: string; accepted: boolean; reason: string; pullId: string }[];
    return entries
      .filter((e) => e.pullId === pullId)
      .map((e) => ({ who: e.who, accepted: e.accepted, reason: e.reason }));
  };
  const refusedCounter = async () => {
    const res = await ing.app.inject({ method: 'GET', url: '/metrics' });
    return Number(/^et_ingester_log_pull_cancels_refused_total (\d+)$/m.exec(res.body)?.[1]);
  };

  beforeAll(async () => {
    rig = await startRig('et-api-pull-cancel-');
    ing = await rig.ingester();
    for (const [name, role] of [
      ['alice', 'engineer'],
      ['bob', 'engineer'],
      ['viewer', 'viewer'],
    ] as const) {
      const r = await call('POST', '/api/v1/tokens', ADMIN_TOKEN, { name, role });
      expect(r.status).toBe(201);
      tokens[name] = r.body.token as string;
    }
    await rig.heardOf(NODE);
  });
  afterAll(async () => rig?.close());

  it("refuses another engineer's cancel with 403 naming the requester, audited and counted; the pull goes on", async () => {
    const id = await newPull(tokens.alice);
    const r = await cancel(id, tokens.bob);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'ET_ERR_PULL_NOT_REQUESTER', statusCode: 403 });
    expect(r.body.message).toMatch(
      new RegExp(
        `^ET_ERR_PULL_NOT_REQUESTER: only the token that requested a log pull, or an admin, may cancel it \\(log pull ${id} was requested by alice \\(tk_\\w+\\)\\)$`,
      ),
    );
    expect(await state(id)).toBe('queued');
    expect(await refusedCounter()).toBe(1);
    expect(await cancelAudit(id)).toEqual([
      {
        who: expect.stringMatching(/^bob \(tk_\w+\)$/),
        accepted: false,
        reason: `refused: ${r.body.message as string}`,
      },
    ]);

    // The requester may, and the refusal did not get in her way.
    const own = await cancel(id, tokens.alice);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      state: 'cancelled',
      error: expect.stringMatching(/^ET_ERR_PULL_CANCELLED: by alice/),
    });
    expect((await cancelAudit(id)).map((e) => [e.who.split(' ')[0], e.accepted]).sort()).toEqual([
      ['alice', true],
      ['bob', false],
    ]);

    // A finished pull is no more another engineer's to touch: still 403, still counted.
    expect((await cancel(id, tokens.bob)).status).toBe(403);
    expect(await refusedCounter()).toBe(2);
  });

  it("lets an admin cancel an engineer's pull", async () => {
    const id = await newPull(tokens.bob);
    const r = await cancel(id, ADMIN_TOKEN);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      state: 'cancelled',
      error: expect.stringMatching(/^ET_ERR_PULL_CANCELLED: by bootstrap-admin/),
    });
    expect(await cancelAudit(id)).toEqual([
      {
        who: 'bootstrap-admin (bootstrap)',
        accepted: true,
        reason: 'ok: ET_ERR_PULL_CANCELLED: by bootstrap-admin (bootstrap)',
      },
    ]);
  });

  it('still answers 404 for a pull that does not exist and 403 ET_ERR_FORBIDDEN below the engineer role', async () => {
    const missing = await cancel('no-such-pull', tokens.bob);
    expect([missing.status, missing.body.code]).toEqual([404, 'ET_ERR_NOT_FOUND']);
    const id = await newPull(tokens.alice);
    const viewer = await cancel(id, tokens.viewer);
    expect([viewer.status, viewer.body.code]).toEqual([403, 'ET_ERR_FORBIDDEN']);
    expect(await state(id)).toBe('queued');
  });
});
