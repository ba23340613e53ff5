/**
 * Issue 20, safe rollout, with real parts: Mosquitto, two ingesters on one shared subscription
 * (embedded ClickHouse, one client), and `edge-telemetry simulate` running 12 gateways (real
 * collectors with demo sources, two worker threads). Canary 5 %, 3 waves, a hold of a few
 * seconds (time-compressed): a change every node's schema refuses halts after its canaries and
 * is reverted; a good one goes through canaries and waves, the ingester that started it is
 * killed halfway and the other takes the rollout over, and every node ends on the new revision.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  createClickHouseClient,
  createIngester,
  resolveConfig as resolveIngesterConfig,
  type Ingester,
} from '@edge-telemetry/ingester';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { bins, runNode, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { captureIo } from '../support/io.js';
import {
  runConfigDiff,
  runConfigRollout,
  type NodeRow,
  type RolloutRow,
} from '../../packages/cli/src/commands/fleet-config.js';

/**
 * 200 simulated gateways take about a minute just to start on a loaded 2-core machine, and 40
 * with two ingesters on one embedded engine stalled waves for minutes when the suite ran beside
 * other heavy files, so the suite runs 12 (canary 1, waves of 4, 4, 3);
 * `ET_FLEET_ROLLOUT_NODES=200` runs the count.
 */
const NODES = Number(process.env.ET_FLEET_ROLLOUT_NODES ?? 12);
const CANARIES = Math.ceil(0.05 * NODES);
const ADMIN = 'fleet-rollout-admin-token-0123456789abcdef';
const ROLLOUT = { canaryShare: 0.05, waves: 3, holdMs: 2000 };

describe.skipIf(!haveMosquitto())(`fleet rollout: ${NODES} simulated gateways, two ingesters`, () => {
  let broker: Mosquitto;
  let dir: string;
  let client: ClickHouseClient;
  const ingesters = new Map<string, { ingester: Ingester; api: string }>();
  let sim: RunningProcess;

  const startIngester = async (clientId: string) => {
    const ingester = createIngester(
      resolveIngesterConfig(
        {
          mqtt: { url: broker.url, clientId, sharedGroup: 'ingest', protocolVersion: 5 },
          http: { port: 0 },
          clickhouse: { dataDir: dir },
          writer: { flushIntervalMs: 200 },
          auth: { adminToken: ADMIN, rateLimitPerSecond: 10_000, rateLimitBurst: 10_000 },
          logLevel: 'silent',
        },
        {},
      ),
      {
        clickhouse: client,
        fleetRollout: {
          defaults: ROLLOUT,
          // Generous: a loaded CI machine is slow to seal, ship and store a window, never wrong about a refusal.
          rules: { errorSpikeMin: 100_000, applyTimeoutMs: 300_000 },
          tickMs: 250,
          leaseMs: 10_000,
        },
      },
    );
    ingesters.set(clientId, { ingester, api: (await ingester.start()).url });
  };

  const call = async <T = Record<string, unknown>>(via: string, method: string, p: string, body?: unknown) => {
    const r = await fetch((ingesters.get(via)?.api as string) + p, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(r.status, `${method} ${p}`).toBe(200);
    return (await r.json()) as T;
  };
  const statuses = async (via: string) =>
    (await call<{ nodes: NodeRow[] }>(via, 'GET', '/api/v1/config/status')).nodes.filter((n) =>
      n.node.startsWith('roll-'),
    );
  const rollout = (via: string, id: string) =>
    call<RolloutRow & { owner: string }>(via, 'GET', `/api/v1/config/rollouts/${id}`);
  const until = <T>(what: string, via: string, id: string, ok: (r: RolloutRow & { owner: string }) => boolean) =>
    waitFor(
      what,
      async () => {
        const r = await rollout(via, id);
        // Ended otherwise: returned for the caller's assertion to show it (with its reason).
        return ok(r) || !['running', 'halted'].includes(r.state) ? r : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      const nodes = (await statuses(via)).map((n) => [
        n.node,
        n.inSync,
        n.config?.state,
        n.config?.rev,
        n.config?.appliedRev,
      ]);
      throw new Error(
        `${err.message}\nrollout: ${JSON.stringify(await rollout(via, id))}\nnodes: ${JSON.stringify(nodes)}`,
      );
    }) as Promise<RolloutRow & { owner: string } & T>;
  const allOn = (via: string, rev: number) =>
    waitFor(
      `all ${NODES} nodes applied revision ${rev}`,
      async () => {
        const s = await statuses(via);
        return s.length === NODES && s.every((n) => n.config?.appliedRev === rev && n.config.state === 'applied')
          ? s
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      const behind = (await statuses(via)).filter((n) => n.config?.appliedRev !== rev);
      throw new Error(`${err.message}\nnot on it: ${JSON.stringify(behind.slice(0, 5))}`);
    });

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-fleet-rollout-'));
    client = createClickHouseClient({ dataDir: path.join(dir, 'ch') });
    await startIngester('roll-ing-a');
    await startIngester('roll-ing-b');
    sim = runNode(bins.cli, [
      'simulate',
      '--nodes',
      String(NODES),
      '--broker',
      broker.url,
      '--prefix',
      'roll',
      '--data-dir',
      path.join(dir, 'sim'),
      '--scrape-ms',
      '1000',
      '--window-ms',
      '10000',
      '--duration',
      '30m',
      '--workers',
      '2',
      '--progress',
      '0',
    ]);
    await sim.waitFor(new RegExp(`simulating ${NODES} gateways`), 180_000);
    await waitFor(
      `all ${NODES} nodes online and taking remote configuration`,
      async () => {
        const s = await statuses('roll-ing-a');
        return s.length === NODES && s.every((n) => n.online && n.config !== undefined) ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    );
  }, 480_000);

  afterAll(async () => {
    await sim?.stop();
    for (const { ingester } of ingesters.values()) await ingester.stop();
    await client?.close();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('a change the canaries refuse halts after the canary stage and is reverted', async () => {
    // Each simulated node has its own data folder and containers: its own effective hash.
    const hashes = (s: NodeRow[]) => Object.fromEntries(s.map((n) => [n.node, n.config?.effectiveHash]));
    const before = hashes(await statuses('roll-ing-a'));
    const bad = await call<{ layer: { rev: number }; rollout: RolloutRow }>(
      'roll-ing-a',
      'PUT',
      '/api/v1/config/fleet',
      // Valid at the center; the nodes' 10 s window is not a multiple of 3 s, which only they know.
      { options: { scrapeIntervalMs: 3000 } },
    );
    const rest = NODES - CANARIES;
    expect(bad.rollout.stages).toEqual(
      [1, 2, 3].reduce((st, w) => [...st, CANARIES + Math.ceil((rest * w) / 3)], [CANARIES]),
    );
    const r = await until('the bad rollout reverted', 'roll-ing-a', bad.rollout.id, (x) => x.state === 'reverted');
    expect(r.state, JSON.stringify(r)).toBe('reverted');
    expect(r.stage).toBe(0);
    expect(r.admitted).toBe(CANARIES);
    expect(r.reason).toMatch(
      /refused it: downsample\.windowMs \(10000\) must be a multiple of scrapeIntervalMs \(3000\); reverted to no layer, the last version rolled out to every node$/,
    );
    // The revert is the layer's newest version, the previous content (none: removed), written by the rollout.
    const { versions } = await call<{ versions: Array<{ rev: number; removed: boolean; createdBy: string }> }>(
      'roll-ing-a',
      'GET',
      '/api/v1/config/fleet',
    );
    expect(versions[0]).toMatchObject({ removed: true, createdBy: `rollout ${r.id} (reverted to no layer)` });
    expect(versions[0]?.rev).toBeGreaterThan(bad.layer.rev);
    // The revert is audited as the system's own change, with why the stage failed.
    const { entries } = await call<{ entries: Array<{ who: string; reason: string; detail: { rollout?: string } }> }>(
      'roll-ing-a',
      'GET',
      `/api/v1/audit?from=${Date.now() - 3_600_000}&action=config.rollout_revert`,
    );
    expect(entries.find((e) => e.detail.rollout === r.id)).toMatchObject({
      who: 'system',
      reason: expect.stringMatching(/^ok: roll-\d+ refused it: .*; reverted to no layer/),
    });
    // The CLI shows it, and what the revert changed; halting it now is refused (it is not running).
    const flags = ['--url', ingesters.get('roll-ing-a')?.api as string, '--token', ADMIN];
    const status = captureIo();
    expect(await runConfigRollout(['status', r.id, ...flags], status.io)).toBe(0);
    expect(status.out()).toMatch(
      new RegExp(`^${r.id} +fleet +${bad.layer.rev} +reverted +1/4 +${CANARIES}/${NODES} `, 'm'),
    );
    const diff = captureIo();
    expect(await runConfigDiff(['fleet', ...flags], diff.io)).toBe(0);
    expect(diff.out()).toBe(`revision ${bad.layer.rev} -> ${versions[0]?.rev}\n  scrapeIntervalMs: 3000 -> (unset)\n`);
    const halt = captureIo();
    expect(await runConfigRollout(['halt', r.id, ...flags], halt.io)).toBe(1);
    expect(halt.err()).toMatch(/is reverted, not running/);
    // Every node runs as before: the canaries never applied it, the others were never sent it.
    const after = await allOn('roll-ing-a', versions[0]?.rev as number);
    expect(hashes(after)).toEqual(before);
  }, 600_000);

  it('a good change goes through canaries and waves; the other ingester takes it over when its owner dies', async () => {
    const set = await call<{ layer: { rev: number }; sent: number; rollout: RolloutRow }>(
      'roll-ing-a',
      'PUT',
      '/api/v1/config/fleet',
      {
        options: { logs: { defaults: { filter: { minLevel: 'warn' } } } },
      },
    );
    const rev = set.layer.rev;
    const id = set.rollout.id;
    expect(set.sent).toBeLessThanOrEqual(CANARIES);
    // While the canaries hold, nobody else runs it.
    const canaryView = await waitFor(
      'the canaries applied it',
      async () => {
        const r1 = await rollout('roll-ing-a', id);
        const s = await statuses('roll-ing-a');
        const r2 = await rollout('roll-ing-a', id);
        const on = s.filter((n) => n.config?.appliedRev === rev).length;
        return r1.stage === 0 && r2.stage === 0 && on > 0 ? on : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nrollout: ${JSON.stringify(await rollout('roll-ing-a', id))}\nnodes: ${JSON.stringify((await statuses('roll-ing-a')).slice(0, 3))}`,
      );
    });
    expect(canaryView).toBeLessThanOrEqual(CANARIES);
    const wave = await until('the first wave admitted', 'roll-ing-a', id, (x) => x.stage >= 1);
    expect(wave.state, JSON.stringify(wave)).toBe('running');
    const a = ingesters.get('roll-ing-a');
    await a?.ingester.kill();
    ingesters.delete('roll-ing-a');
    const done = await until('the rollout done', 'roll-ing-b', id, (x) => x.state === 'done');
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'done', owner: 'roll-ing-b', admitted: NODES, stage: 3 });
    const s = await allOn('roll-ing-b', rev);
    expect(s.every((n) => n.inSync)).toBe(true);
    // The fleet view by version and hash: every node in a group, every group in sync.
    const { groups } = await call<{ groups: Array<{ agentVersion: string; nodes: number; inSync: number }> }>(
      'roll-ing-b',
      'GET',
      '/api/v1/config/versions',
    );
    expect(groups.reduce((n, g) => n + g.nodes, 0)).toBe(NODES);
    expect(groups.every((g) => g.inSync === g.nodes && g.agentVersion === groups[0]?.agentVersion)).toBe(true);
  }, 600_000);
});
