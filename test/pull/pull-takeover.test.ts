/**
 * Log pulls with several ingesters on one shared subscription (one engine): the node's chunks and
 * its `end` reach any of them. When the ingester that accepted a pull dies mid-pull, the pull is
 * finished elsewhere, with every line once and the node's digest checked: by an ingester the `end`
 * reached, or, when nothing of the pull reaches anyone any more, by the one that takes it over
 * once the dead owner's lease has run out and resumes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingester } from '@edge-telemetry/ingester';
import { haveMosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { ADMIN_TOKEN, startPullRig, syntheticRecords, T0, type PullRig } from './rig.js';

const NODE = 'gw-pull-takeover';
const ALL = { since: T0, until: T0 + 3_600_000 };
const LEASE_MS = 3000;

interface Status {
  state: string;
  linesReceived: number;
  error?: string;
}

// Each case waits up to 20 s for the first chunks and 40 s for the finish: more than the default
// 30 s test timeout, which would cut a slow but correct run before its own deadlines.
describe.runIf(haveMosquitto())('log pulls across ingesters, the owner killed mid-pull', { timeout: 150_000 }, () => {
  let rig: PullRig;
  const more: Array<{ ingester: Ingester; api: string }> = [];

  beforeAll(async () => {
    rig = await startPullRig({
      node: NODE,
      records: syntheticRecords(20_000, 3_600_000),
      pull: { chunkBytes: 16 * 1024, window: 4, ackTimeoutMs: 1000 },
      ingesterPull: { stallMs: 1000, maxStallMs: 2000, leaseMs: LEASE_MS },
      sharedGroup: 'ingest',
    });
    for (const n of [2, 3]) more.push(await rig.addIngester({ mqtt: { clientId: `pull-ingester-${n}` } }));
  });
  afterAll(async () => {
    await rig?.close();
  });

  const get = (api: string, path: string) =>
    fetch(`${api}/api/v1/${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const status = async (api: string, id: string) => (await (await get(api, `log-pulls/${id}`)).json()) as Status;
  async function start(api: string): Promise<string> {
    const res = await fetch(`${api}/api/v1/nodes/${NODE}/log-pulls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(ALL),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitFor('the first chunks stored', async () => (await status(api, id)).linesReceived > 0, {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    return id;
  }
  async function expectComplete(api: string, id: string): Promise<void> {
    const s = await waitFor(
      'the pull finished by another ingester',
      async () => {
        const x = await status(api, id);
        return x.state !== 'queued' && x.state !== 'running' ? x : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // The whole status on a failure, its error included: one at load 24 here said only `failed`.
    expect(s, JSON.stringify(s)).toMatchObject({ state: 'done' });
    const want = await rig.expectedLines(ALL);
    expect(s.linesReceived).toBe(want.length);
    expect(await (await get(api, `log-pulls/${id}/lines`)).text()).toBe(want.join('\n') + '\n');
  }

  it('is finished by an ingester its chunks and end reach', async () => {
    // Slow enough that the pull is still running when its owner dies.
    rig.proxy.throttle(100_000);
    const id = await start(rig.api);
    await rig.ingester.kill();
    rig.proxy.throttle(undefined);
    await expectComplete(more[0]!.api, id);
  });

  it('is taken over and resumed once the dead owner lease has run out, when nothing of it reaches anyone', async () => {
    const [owner, heir] = more as [{ ingester: Ingester; api: string }, { ingester: Ingester; api: string }];
    rig.proxy.throttle(100_000);
    const id = await start(owner.api);
    // The node's link down, its owner dead: the other ingesters hear nothing of the pull.
    rig.proxy.cut();
    await owner.ingester.kill();
    await waitFor('the other ingester to take the pull over', () => heir.ingester.stats().pulls.takeovers > 0, {
      // The lease runs out after LEASE_MS; the takeover then waits for a coordinator tick, late on a loaded machine.
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    rig.proxy.resume();
    rig.proxy.throttle(undefined);
    await expectComplete(heir.api, id);
  });
});
