/**
 * One API client cannot take the ingester's connections, and with them the file descriptors its
 * embedded ClickHouse engine needs, from everyone else. Found by the session-9 trial: 20,000 idle
 * sockets to `npm start`'s API (no request, no token) made every insert fail with "Too many open
 * files" and the API answer no one. Here the ingester bin runs as in production with small caps; a
 * socket counts as held once the ingester has answered a request on it (it stays open, keep-alive),
 * as refused once the ingester closes it without an answer.
 */
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, topics } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../../support/mosquitto.js';
import { connectNode, type NodeClient } from '../../support/node-client.js';
import { startIngesterBin, type RunningProcess } from '../../support/processes.js';
import { sampleBatch } from '../../support/batches.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = 'connection-caps-admin-token-0123456789abcdef';
const MAX = 40;
const PER_ADDRESS = 10;

describe.runIf(haveMosquitto())('API connection caps', () => {
  let broker: Mosquitto;
  let dir: string;
  let proc: RunningProcess;
  let port: number;
  let gw: NodeClient;
  const open: net.Socket[] = [];

  /**
   * A keep-alive request from `from` (any 127/8 address is loopback): 'held' once its answer's
   * status line arrives (the socket stays open), 'refused' if the ingester closes it first.
   */
  const request = (from: string, target = '/healthz', keepAlive = true) =>
    new Promise<{ outcome: 'held' | 'refused'; text: string }>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
      let text = '';
      s.on('error', () => undefined);
      s.on('connect', () =>
        s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`),
      );
      s.on('data', (d) => {
        text += d.toString();
        if (keepAlive && /\r\n\r\n/.test(text)) resolve({ outcome: 'held', text });
      });
      s.on('close', () => resolve({ outcome: text.startsWith('HTTP/1.1') ? 'held' : 'refused', text }));
      open.push(s);
    });
  /** The ingester's own /metrics probes refused by the total cap (counted there too), over the whole file. */
  let probesOverTotal = 0;
  /**
   * The refusals the ingester counted for `reason`, less those of its own probes: a probe can
   * arrive while the ingester still counts sockets a case has closed, and is then refused too.
   */
  const refusedCount = async (reason: string) => {
    const text = await waitFor('a /metrics answer', async () => {
      const r = await request('127.0.0.99', '/metrics', false);
      if (r.outcome === 'refused') probesOverTotal++;
      return r.outcome === 'held' ? r.text : undefined;
    });
    const n = Number(
      new RegExp(`^et_ingester_http_connections_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1],
    );
    return reason === 'total' ? n - probesOverTotal : n;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-conn-caps-'));
    let api: string;
    ({ proc, api } = await startIngesterBin({
      dir,
      brokerUrl: broker.url,
      clientId: 'ingester-conn-caps',
      token: TOKEN,
      config: { http: { maxConnections: MAX, maxConnectionsPerAddress: PER_ADDRESS } },
    }));
    port = Number(new URL(api).port);
    gw = await connectNode(broker.url, 'gw-conn-caps');
  }, 150_000);

  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
  });

  afterAll(async () => {
    await gw?.close();
    await proc?.stop();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an address holds at most maxConnectionsPerAddress; the others are still served', async () => {
    const before = await refusedCount('address');
    const mine = await Promise.all(Array.from({ length: PER_ADDRESS }, () => request('127.0.0.2')));
    expect(mine.map((r) => r.outcome)).toEqual(Array(PER_ADDRESS).fill('held'));
    expect((await request('127.0.0.2')).outcome).toBe('refused');
    const other = await request('127.0.0.3');
    expect(other.outcome).toBe('held');
    expect(other.text).toMatch(/^HTTP\/1\.1 200/);
    expect(await refusedCount('address')).toBe(before + 1);
  }, 60_000);

  it('the total is capped, and batches are stored and acknowledged meanwhile', async () => {
    const before = await refusedCount('total');
    // Every address under its own cap: only the total refuses. Sockets of the previous case that
    // the ingester has not seen close yet take some of the total, so count what was held.
    const addresses = Array.from({ length: Math.ceil((MAX + 10) / (PER_ADDRESS - 2)) }, (_, i) => `127.0.1.${i + 1}`);
    const outcomes: string[] = [];
    for (const from of addresses)
      for (let i = 0; i < PER_ADDRESS - 2; i++) outcomes.push((await request(from)).outcome);
    const held = outcomes.filter((o) => o === 'held').length;
    const refused = outcomes.length - held;
    expect(held).toBeLessThanOrEqual(MAX);
    expect(refused).toBeGreaterThanOrEqual(outcomes.length - MAX);
    // With the API full, the ingester still writes to ClickHouse and acknowledges.
    await gw.publish(
      topics.batch('gw-conn-caps'),
      createBatchCodec().encode(sampleBatch({ node: 'gw-conn-caps', seq: 1 })),
    );
    expect((await gw.ackFor(1, 60_000)).seqs).toContain(1);
    for (const s of open.splice(0)) s.destroy();
    // Once they are let go, the API serves again; the ingester may take a moment to see them
    // close, and a probe refused meanwhile is counted too.
    let probesRefused = 0;
    await waitFor('the API serving again', async () => {
      const { outcome } = await request('127.0.0.98');
      if (outcome === 'refused') probesRefused++;
      return outcome === 'held';
    });
    expect(await refusedCount('total')).toBe(before + refused + probesRefused);
  }, 120_000);
});
