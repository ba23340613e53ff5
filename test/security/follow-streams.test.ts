/**
 * Issue 16: `GET .../lines?follow=true` loops used to run on after their client left, until the
 * pull ended (up to 7 days), and kept the ingester from stopping on SIGTERM (still alive after
 * 30 s). Here the ingester bin runs as in production; 50 follows of a pull that never progresses
 * are opened and abandoned (none may keep polling: the open-streams gauge returns to 0), then 50
 * more are left open and the process must stop on SIGTERM, cleanly, well before stop() kills it,
 * and cut them rather than end them: an ended stream says the client has the whole pull.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { connectNode, type NodeClient } from '../support/node-client.js';
import { startIngesterBin, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'follow-streams-admin-token-0123456789abcdef';
const NODE = 'gw-silent';
const FOLLOWS = 50;

describe.runIf(haveMosquitto())('log-pull follow streams end with their client and with the process', () => {
  let broker: Mosquitto;
  let dir: string;
  let proc: RunningProcess;
  let api: string;
  let gw: NodeClient;
  let pullId: string;

  const auth = { authorization: `Bearer ${TOKEN}` };
  const openStreams = async () =>
    Number(/^et_ingester_log_pull_follow_streams (\d+)$/m.exec(await (await fetch(`${api}/metrics`)).text())?.[1]);
  /** Opens a follow; resolves once the response has started (headers in), with the means to drop it. */
  const follow = async () => {
    const ac = new AbortController();
    const res = await fetch(`${api}/api/v1/log-pulls/${pullId}/lines?follow=true`, {
      headers: auth,
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    // Reading would wait for lines that never come: keep the body unread, like a stalled client.
    return { ac, res };
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-follow-'));
    ({ proc, api } = await startIngesterBin({ dir, brokerUrl: broker.url, clientId: 'ingester-follow', token: TOKEN }));
    // A node that says it can answer pulls, then never does: its pull stays queued.
    gw = await connectNode(broker.url, NODE);
    await gw.status();
    pullId = await waitFor('a pull accepted for the silent node', async () => {
      const r = await fetch(`${api}/api/v1/nodes/${NODE}/log-pulls`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ since: '1h' }),
      });
      return r.status === 202 ? ((await r.json()) as { id: string }).id : undefined;
    });
  }, 90_000);

  afterAll(async () => {
    await gw?.close();
    await proc?.stop('SIGKILL');
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ends every follow whose client went away: none keeps polling', async () => {
    const clients = await Promise.all(Array.from({ length: FOLLOWS }, () => follow()));
    expect(await openStreams()).toBe(FOLLOWS);
    for (const c of clients) c.ac.abort();
    await waitFor(
      () => 'the abandoned follows to end',
      async () => (await openStreams()) === 0,
      { timeoutMs: 10_000 },
    );
  });

  // Not a time bound: a clean stop (flush, close the engine) took over 10 s on a machine at load 20.
  // Open follows used to keep the process alive until their pull ended (days): stop() kills it
  // after 45 s, and a killed process has no exit code.
  it('stops on SIGTERM with 50 follows open, cleanly (exit code 0), and cuts them rather than ending them', async () => {
    const clients = await Promise.all(Array.from({ length: FOLLOWS }, () => follow()));
    expect(await openStreams()).toBe(FOLLOWS);
    // How each stream ends for its client: a clean end would say the pull was all there.
    const ends = clients.map((c) =>
      c.res.text().then(
        () => 'ended',
        () => 'cut',
      ),
    );
    const t0 = performance.now();
    const code = await proc.stop('SIGTERM');
    process.stdout.write(`SIGTERM with ${FOLLOWS} follows open: exited in ${(performance.now() - t0).toFixed(0)} ms\n`);
    expect(await Promise.all(ends)).toEqual(Array.from({ length: FOLLOWS }, () => 'cut'));
    for (const c of clients) c.ac.abort();
    expect(code).toBe(0);
  }, 90_000);
});
