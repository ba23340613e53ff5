/**
 * A node reverts a remote change on its own when the center goes quiet after it applied it (the
 * change may have cut its uplink), end to end: a real collector (buildCollector) on Mosquitto,
 * the ingester on embedded ClickHouse, `remoteConfig.revertAfterMs` of 3 s in the node's local
 * file. The ingester is stopped first and the `config` command is then published as the center
 * publishes it (protocol's codec), so no acknowledgement can come after the change: the node
 * applies it, hears nothing, goes back to its previous configuration, reports the revision
 * `failed` with the reason, does not take it again when it is delivered again, and keeps that
 * after a restart; an ingester started afterwards shows it. A remote change cannot itself point
 * the uplink at a dead port: `uplink.mqtt` is set only in the node's local file (refused by the
 * center and the node), so the center going quiet stands in for a change that cut the link.
 * Waits are on the node's status messages and the API, never on time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollector, collectorConfigSpec, type RunningCollector } from '@edge-telemetry/collector';
import { createConfigCodec, encodeCommand, resolveConfig, topics, type ConfigStatus } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../support/mosquitto.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { watchConfigStatus, type ConfigStatusWatch } from '../support/config-status.js';

const NODE = 'gw-revert-1';
const REVERT_MS = 3000;
const REV = 7;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe.runIf(haveMosquitto())('node self-revert when the center goes quiet after a change', () => {
  let stack: Stack;
  let dir: string;
  let watch: ConfigStatusWatch;
  let running: RunningCollector | undefined;

  const start = async () => {
    const config = resolveConfig(collectorConfigSpec, {
      file: {
        node: NODE,
        dataDir: path.join(dir, 'data'),
        scrapeIntervalMs: 500,
        downsample: { windowMs: 1000 },
        http: { port: -1 },
        sources: { host: { enabled: false }, cgroup: { enabled: false }, demo: { containers: 1 } },
        store: { enabled: false },
        uplink: {
          mqtt: { url: stack.broker.url, reconnectMinMs: 100, reconnectMaxMs: 500, keepaliveSec: 5 },
          sender: { ackTimeoutMs: 1000 },
        },
        remoteConfig: { revertAfterMs: REVERT_MS },
      },
      env: {},
    });
    running = await buildCollector(config, silent);
    await running.collector.start();
  };

  beforeAll(async () => {
    stack = await startStack({ ingester: { mqtt: { clientId: 'ingester-self-revert' } } });
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-self-revert-'));
    watch = await watchConfigStatus(stack.broker.url, NODE, 'self-revert-watcher');
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
    await watch?.close();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies, hears nothing for revertAfterMs, reverts and reports it, never re-applies it, keeps it across a restart', async () => {
    await start();
    // The node's own configuration, acknowledged by the ingester: what it must come back to.
    const before = await watch.next('the node on its local configuration', (s) => s.state === 'applied' && s.rev === 0);
    await waitFor(
      'a batch of the node stored',
      async () => {
        const rs = await stack.clickhouse.query({
          query: 'SELECT count() AS n FROM et_batches WHERE NodeName = {node:String}',
          query_params: { node: NODE },
          format: 'JSONEachRow',
        });
        const [r] = await rs.json<{ n: string }>();
        return Number(r?.n ?? 0) > 0 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await stack.ingester.stop();

    const codec = createConfigCodec();
    const command = encodeCommand(
      codec.command({ options: { logs: { defaults: { filter: { minLevel: 'error' } } } } }, REV, Date.now() + 600_000),
    );
    const mark = watch.said.length;
    await watch.publish(topics.cmd(NODE), command);
    const applied = await watch.next(
      `revision ${REV} applied`,
      (s) => s.state === 'applied' && s.appliedRev === REV,
      mark,
    );
    expect(applied.effectiveHash).not.toBe(before.effectiveHash);
    const reverted = await watch.next(`revision ${REV} reverted`, (s) => s.state === 'failed' && s.rev === REV, mark);
    expect(reverted).toMatchObject({
      appliedRev: 0,
      effectiveHash: before.effectiveHash,
      reason: `reverted to revision 0 on its own: the center acknowledged nothing for ${REVERT_MS} ms after revision ${REV} applied`,
    });

    // Delivered again (a queued copy, a resend): answered with the status, not applied.
    const again = watch.said.length;
    await watch.publish(topics.cmd(NODE), command);
    const answered = await watch.next('the status after the redelivery', () => true, again);
    expect(answered).toMatchObject({ state: 'failed', rev: REV, appliedRev: 0, effectiveHash: before.effectiveHash });

    // A restart keeps the revert (persisted), and says it in the birth status.
    await running?.stop();
    running = undefined;
    const restart = watch.said.length;
    await start();
    const birth = await watch.next('the status after the restart', (s) => s.rev === REV, restart);
    expect(birth).toMatchObject({ state: 'failed', appliedRev: 0, effectiveHash: before.effectiveHash });
    expect(birth.reason).toBe(reverted.reason);

    // An ingester started now shows it in the fleet's configuration status.
    const { api } = await stack.addIngester({ mqtt: { clientId: 'ingester-self-revert-2' } });
    await waitFor(
      'the reverted state in the API',
      async () => {
        const r = await fetch(`${api}/api/v1/config/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const nodes = ((await r.json()) as { nodes: Array<{ node: string; config?: ConfigStatus }> }).nodes;
        const n = nodes.find((x) => x.node === NODE);
        return n?.config?.state === 'failed' && n.config.rev === REV ? n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).then((n) => expect(n.config?.reason).toBe(reverted.reason));
  }, 240_000);
});
