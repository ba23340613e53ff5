/**
 * Issue 16, the low findings, each with the status code it must answer now:
 * - out-of-range times are 400 ET_ERR_BAD_REQUEST, never 503 (they used to overflow in ClickHouse);
 * - a pull whose range is in the future or empty is refused before anything is stored, and audited;
 * - a pull body nested 100,000 levels deep is refused with a clear error and audited (it used to
 *   overflow the stack while the audit row was written);
 * - a pull for a node never heard of is 404 ET_ERR_NODE_UNKNOWN; for a node that said it keeps no
 *   log store, or reads other command versions, 409 ET_ERR_PULL_UNSUPPORTED;
 * - queued pulls are capped per node and per token, across ingesters: 429 ET_ERR_TOO_MANY_PULLS;
 * - /readyz stays public, says nothing of ClickHouse's errors and runs its probe once per few
 *   seconds whatever the number of calls.
 */
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStatus, nodeCapabilities, topics, type NodeCapabilities } from '@edge-telemetry/protocol';
import { TABLES } from '@edge-telemetry/ingester';
import { haveMosquitto } from '../../support/mosquitto.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../../support/stack.js';
import { waitFor } from '../../support/wait.js';
import type { StorageConnection } from '@edge-telemetry/ingester';

describe.runIf(haveMosquitto())('API refusals with their codes (issue 16, low findings)', () => {
  let s: Stack;
  let gw: MqttClient;
  let probes = 0;
  const countProbes = (inner: StorageConnection): StorageConnection => ({
    ping: (p) => inner.ping(p),
    query: (p) => {
      if (p.query.trim() === 'SELECT 1') probes++;
      return inner.query(p);
    },
    command: (p) => inner.command(p),
    close: () => inner.close(),
    insert: (p) => inner.insert(p),
    exec: (p) => inner.exec(p),
  });

  const birth = async (node: string, capabilities?: NodeCapabilities) => {
    await gw.publishAsync(
      topics.status(node),
      encodeStatus({
        v: 1,
        node,
        state: 'online',
        at: Date.now(),
        agentVersion: 'test',
        ...(capabilities && { capabilities }),
      }),
      { qos: 1 },
    );
  };

  beforeAll(async () => {
    s = await startStack({ wrapConnection: countProbes, pull: { maxActivePerNode: 3, maxActivePerToken: 5 } });
    gw = await mqtt.connectAsync(s.broker.url, { clientId: 'refusals-gw', protocolVersion: 4 });
    await birth('gw-store', nodeCapabilities(true));
    await birth('gw-nostore', nodeCapabilities(false));
    await birth('gw-future', { logStore: true, control: [2], batchFrames: [9] });
    for (let i = 0; i < 4; i++) await birth(`gw-cap-${i}`, nodeCapabilities(true));
    await waitFor('the births at the ingester', () => s.ingester.stats().consumer.statuses >= 7);
  });
  afterAll(async () => {
    await gw?.endAsync(true);
    await s?.close();
  });

  const get = async (p: string) => {
    const r = await s.call(p);
    return { status: r.status, body: (await r.json()) as { code?: string; message?: string } };
  };
  const pull = async (node: string, body: unknown, token?: string) => {
    const r = await s.call(`/api/v1/nodes/${node}/log-pulls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(token && { token }),
    });
    return { status: r.status, body: (await r.json()) as { id?: string; code?: string; message?: string } };
  };
  const audit = async () =>
    (
      (await (await s.call('/api/v1/audit?action=request&limit=1000')).json()) as {
        entries: { accepted: boolean; reason: string; node: string }[];
      }
    ).entries;
  const storedPulls = async (node: string) => {
    const rs = await s.clickhouse.query({
      query: `SELECT count() FROM ${TABLES.pulls} WHERE NodeName = {node:String}`,
      query_params: { node },
      format: 'JSONCompactEachRow',
    });
    return Number((await rs.json<[number | string]>())[0]?.[0]);
  };

  it('answers out-of-range times with 400 ET_ERR_BAD_REQUEST, never 503', async () => {
    const answers: Record<string, [number, string | undefined]> = {};
    for (const p of [
      '/api/v1/nodes/gw-store/metrics?to=99999999999999999999',
      '/api/v1/nodes/gw-store/metrics?from=9007199254740993',
      '/api/v1/nodes/gw-store/logs?to=99999999999999999999',
      '/api/v1/nodes/gw-store/templates?from=-5',
      '/api/v1/fleet?to=1e20',
      '/api/v1/audit?from=1e20',
      '/api/v1/audit?to=99999-01-01T00:00:00Z',
    ]) {
      const r = await get(p);
      answers[p] = [r.status, r.body.code];
    }
    expect(Object.values(answers)).toEqual(Object.keys(answers).map(() => [400, 'ET_ERR_BAD_REQUEST']));
  });

  it('names what a field takes when it refuses it: the values of a level, the kinds of a time', async () => {
    const level = await get('/api/v1/nodes/gw-store/logs?level=loud');
    expect([level.status, level.body.message]).toEqual([
      400,
      'querystring/level must be one of trace, debug, info, warn, error, fatal',
    ]);
    const from = await get('/api/v1/nodes/gw-store/logs?from=banana');
    expect(from.body.message).toBe('querystring/from must be integer or must match format "date-time"');
    const debug = await pull('gw-store', { since: '1h', level: 'verbose' });
    expect(debug.body.message).toMatch(/body\/level must be one of trace, debug, info, warn, error, fatal\)$/);
    // A misspelt filter is refused, not dropped (the pull would have been of every line).
    const typo = await pull('gw-store', { since: '1h', grpe: 'timeout' });
    expect([typo.status, typo.body.code]).toEqual([400, 'ET_ERR_BAD_REQUEST']);
    expect(typo.body.message).toMatch(/grpe/);
    // A parameter a route does not take is refused too: `since` on the logs did not filter them.
    const since = await get('/api/v1/nodes/gw-store/logs?since=1h');
    expect([since.status, since.body.message]).toEqual([
      400,
      'querystring has no parameter "since"; it takes container, level, from, to, q, limit',
    ]);
    const none = await get('/api/v1/nodes?node=gw-store');
    expect([none.status, none.body.message]).toEqual([400, 'querystring has no parameter "node"; it takes none']);
  });

  it('refuses a pull whose range is in the future or empty before storing it, and audits it', async () => {
    const future = await pull('gw-store', { since: Date.now() + 3_600_000 });
    const empty = await pull('gw-store', { since: '2h', until: '3h' });
    const beyondNow = await pull('gw-store', { since: Date.now() - 1000 + 60_000, until: Date.now() + 120_000 });
    expect([future, empty, beyondNow].map((r) => [r.status, r.body.code])).toEqual([
      [400, 'ET_ERR_BAD_REQUEST'],
      [400, 'ET_ERR_BAD_REQUEST'],
      [400, 'ET_ERR_BAD_REQUEST'],
    ]);
    expect(future.body.message).toMatch(/in the future/);
    expect(await storedPulls('gw-store')).toBe(0);
    const refused = (await audit()).filter((e) => e.node === 'gw-store' && !e.accepted);
    expect(refused.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a body nested 100,000 levels deep with a clear error, and audits the refusal', async () => {
    const deep = `{"since":"1h","grep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const r = await pull('gw-store', deep);
    expect([r.status, r.body.code]).toEqual([400, 'ET_ERR_BAD_REQUEST']);
    expect(r.body.message).toMatch(/grep/);
    const row = (await audit()).find((e) => e.node === 'gw-store' && /grep/.test(e.reason));
    expect(row).toMatchObject({ accepted: false });
  });

  it('refuses pulls for unknown nodes and for nodes that cannot answer, with their codes', async () => {
    const answers = await Promise.all(
      ['gw-never-seen', 'gw-nostore', 'gw-future'].map(async (n) => {
        const r = await pull(n, { since: '1h' });
        return [n, r.status, r.body.code];
      }),
    );
    expect(answers).toEqual([
      ['gw-never-seen', 404, 'ET_ERR_NODE_UNKNOWN'],
      ['gw-nostore', 409, 'ET_ERR_PULL_UNSUPPORTED'],
      ['gw-future', 409, 'ET_ERR_PULL_UNSUPPORTED'],
    ]);
    expect(await storedPulls('gw-never-seen')).toBe(0);
    const reasons = (await audit()).filter((e) => !e.accepted).map((e) => e.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ET_ERR_NODE_UNKNOWN/),
        expect.stringMatching(/ET_ERR_PULL_UNSUPPORTED.*log store/),
        expect.stringMatching(/ET_ERR_PULL_UNSUPPORTED.*versions 2/),
      ]),
    );
  });

  it('caps queued pulls per node and per token: 429 ET_ERR_TOO_MANY_PULLS', async () => {
    // These nodes never answer (a plain MQTT client said their births), so their pulls stay queued.
    const perNode = [];
    for (let i = 0; i < 4; i++) perNode.push((await pull('gw-cap-0', { since: '1h' })).status);
    expect(perNode).toEqual([202, 202, 202, 429]);
    const perToken = [];
    for (const n of ['gw-cap-1', 'gw-cap-1', 'gw-cap-2', 'gw-cap-2'])
      perToken.push((await pull(n, { since: '1h' })).status);
    // 3 for gw-cap-0 + 2 more = 5 for this token: the third and fourth are refused.
    expect(perToken).toEqual([202, 202, 429, 429]);
    const r = await pull('gw-cap-3', { since: '1h' });
    expect([r.status, r.body.code]).toEqual([429, 'ET_ERR_TOO_MANY_PULLS']);
    expect(r.body.message).toMatch(/this token/);
    // Another ingester on the same ClickHouse counts the pulls this one accepted (et_log_pulls):
    // this token's five, and gw-cap-0's three asked for with another token.
    // The second knows a node from its stored status rows, which are group-committed (one insert per
    // 2 s at most): asked sooner, it would rightly answer 404 for a node it has not heard of.
    await waitFor('the nodes’ statuses stored', async () => {
      const rs = await s.clickhouse.query({
        query: `SELECT uniqExact(NodeName) AS n FROM ${TABLES.status} WHERE NodeName IN ('gw-cap-0', 'gw-cap-3')`,
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ n: number | string }>())[0]?.n) === 2;
    });
    const second = await s.addIngester({ mqtt: { clientId: 'refusals-ingester-2' } });
    const created = await s.call('/api/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'second engineer', role: 'engineer' }),
    });
    const other = ((await created.json()) as { token: string }).token;
    const viaSecond = await Promise.all(
      [
        ['gw-cap-3', ADMIN_TOKEN],
        ['gw-cap-0', other],
      ].map(async ([n, token]) => {
        const res = await fetch(`${second.api}/api/v1/nodes/${n}/log-pulls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ since: '1h' }),
        });
        return [n, res.status, ((await res.json()) as { message?: string }).message];
      }),
    );
    expect(viaSecond).toEqual([
      ['gw-cap-3', 429, expect.stringMatching(/this token/)],
      ['gw-cap-0', 429, expect.stringMatching(/for gw-cap-0/)],
    ]);
  });

  it('keeps /readyz public and cheap: no token, no error text, one ClickHouse probe for many calls', async () => {
    const before = probes;
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${s.api}/readyz`)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const body = (await answers[0]!.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['broker', 'clickhouse', 'ready', 'writer']);
    expect(body.writer).not.toHaveProperty('lastError');
    expect(probes - before).toBeLessThanOrEqual(1);
  });
});
