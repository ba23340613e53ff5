/**
 * The lease of a pull between ingesters. Where nothing is dead nothing waits for it: an orderly
 * stop hands its pulls on (rows without an owner), and an ingester restarted under the same id
 * takes up the pulls its previous run left; where the owner died, the first scan after the lease
 * takes the pull over. CI's scale-out run found a pull never taken over (the scan's query never
 * matched: repository.ts, loadOrphans). Real coordinators on one embedded engine, with a clock
 * the test moves: only the last case reaches the lease, so the others' takeovers are not its.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCommand, type PullCommand } from '@edge-telemetry/protocol';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createPullCoordinator, type PullCoordinator } from './coordinator.js';
import { pullCoordinatorOptions } from './options.js';
import { loadPull } from './repository.js';

const LEASE_MS = 60_000;
// The timer ticks every stallMs / 4 of real time (100 ms); the scans follow the test's clock.
const options = pullCoordinatorOptions({ leaseMs: LEASE_MS, stallMs: 400 });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;

describe('pull leases at an orderly stop and a restart', () => {
  let ch: EmbeddedClickHouse;
  let t = Date.UTC(2026, 11, 7, 4);
  const running: PullCoordinator[] = [];
  /** What each coordinator published, by its ingester id and run. */
  const sent = new Map<PullCoordinator, PullCommand[]>();

  function start(ingesterId: string): PullCoordinator {
    const out: PullCommand[] = [];
    const c = createPullCoordinator({
      client: ch.client,
      publish: async (_topic, payload) => {
        const cmd = decodeCommand(payload);
        if (cmd.ok && cmd.value.type !== 'config') out.push(cmd.value);
      },
      logger: silent,
      options,
      audit: { record: async () => undefined },
      ingesterId,
      nodes: { describe: async () => ({ known: true, capabilities: undefined }) },
      now: () => t,
    });
    sent.set(c, out);
    running.push(c);
    return c;
  }
  const request = (c: PullCoordinator, node: string) =>
    c.create({ node, filter: { since: t - 3_600_000 }, actor: undefined, remoteAddress: '127.0.0.1' });
  const pullsSent = (c: PullCoordinator, id: string) =>
    (sent.get(c) ?? []).filter((m) => m.type === 'pull' && m.pullId === id && m.fromChunk === 0);

  beforeAll(async () => {
    ch = await openMigrated('pull-lease');
  }, 60_000);
  afterAll(async () => {
    for (const c of running) c.close();
    await ch?.close();
  });

  it('an orderly stop hands its pull to another ingester at its next scan, long before the lease', async () => {
    const a = start('ingester-a');
    const b = start('ingester-b');
    const { id } = await request(a, 'gw-handover');
    expect((await loadPull(ch.client, id))?.owner).toBe('ingester-a');
    await a.handOver();
    expect((await loadPull(ch.client, id))?.owner).toBeUndefined();
    // A third of the lease: b's next scan, nowhere near the lease.
    t += LEASE_MS / 3;
    await waitFor('b to take the pull over', async () => (await loadPull(ch.client, id))?.owner === 'ingester-b', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(b.counters().takeovers).toBe(1);
    // Still queued: its command goes again (the stopped one may never have sent it).
    expect(pullsSent(b, id)).toHaveLength(1);
  }, 90_000);

  it('a pull accepted while its ingester stops (the API closes last) is handed over too', async () => {
    const b = running[1] as PullCoordinator;
    const stopping = start('ingester-e');
    await stopping.handOver();
    const { id } = await request(stopping, 'gw-late');
    expect((await loadPull(ch.client, id))?.owner).toBeUndefined();
    t += LEASE_MS / 3;
    await waitFor('b to take the pull over', async () => (await loadPull(ch.client, id))?.owner === 'ingester-b', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(pullsSent(b, id)).toHaveLength(1);
  }, 90_000);

  it('an ingester restarted under the same id takes up the pulls its previous run left, and no other does', async () => {
    const b = running[1] as PullCoordinator;
    const before = b.counters().takeovers;
    const crashed = start('ingester-c');
    const { id } = await request(crashed, 'gw-restart');
    crashed.close();
    const restarted = start('ingester-c');
    t += LEASE_MS / 3;
    await waitFor('the restarted run to take its pull up', () => pullsSent(restarted, id).length > 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(restarted.counters().takeovers).toBe(1);
    expect((await loadPull(ch.client, id))?.owner).toBe('ingester-c');
    // b's scans run on the same clock: for b, ingester-c's lease had not run out.
    expect(b.counters().takeovers).toBe(before);
  }, 90_000);

  it('a pull whose owner died and that nothing brings to anyone is taken over by a scan once its lease has run out', async () => {
    const dead = start('ingester-d');
    const { id } = await request(dead, 'gw-crash');
    dead.close();
    // The lease and one scan period: the first scan after the lease ran out, whoever runs it.
    t += LEASE_MS + LEASE_MS / 3;
    const owner = await waitFor(
      'a scan to take the pull over',
      async () => {
        const o = (await loadPull(ch.client, id))?.owner;
        return o !== 'ingester-d' && o;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const heir = running.find((c) => c !== dead && pullsSent(c, id).length > 0);
    expect(['ingester-b', 'ingester-c']).toContain(owner);
    expect(heir?.counters().takeovers).toBeGreaterThan(0);
  }, 90_000);
});
