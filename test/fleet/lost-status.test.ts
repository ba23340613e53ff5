/**
 * A node's status can be lost for good: the ingester that received it on the shared subscription
 * died before storing it, and no other ingester hears it again (CI saw a rollout wait out its
 * apply timeout for two nodes whose `applied` went to the ingester killed under it). The center
 * then asks: a node last heard `applying` is sent its document again at a revision it already
 * took, which it answers with its status. The gateway here is an MQTT client that speaks the
 * protocol, so the test decides which of its statuses get lost; the broker and ingester are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCommand, topics, type ConfigCommand, type ConfigStatus } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../support/mosquitto.js';
import { connectNode, type NodeClient } from '../support/node-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const NODE = 'gw-lost-status';

describe.runIf(haveMosquitto())('a status lost between ingesters', () => {
  let s: Stack;
  let gw: NodeClient;
  const commands: ConfigCommand[] = [];

  const report = (config: ConfigStatus) => gw.status({ config });
  const node = async () =>
    (await (await s.call(`/api/v1/nodes/${NODE}/config`)).json()) as { inSync: boolean; config?: ConfigStatus };

  beforeAll(async () => {
    s = await startStack();
    gw = await connectNode(s.broker.url, NODE);
    gw.client.on('message', (_topic, payload) => {
      const r = decodeCommand(payload);
      if (r.ok && r.value.type === 'config') commands.push(r.value);
    });
    await gw.client.subscribeAsync(topics.cmd(NODE), { qos: 1 });
    await report({ state: 'applied', rev: 0, appliedRev: 0, docHash: '', effectiveHash: '0'.repeat(64) });
    await waitFor('the birth at the ingester', async () => (await node()).config?.state === 'applied');
  });
  afterAll(async () => {
    await gw?.close();
    await s?.close();
  });

  it('asks a node last heard applying for its status, and the node is in sync once it answers', async () => {
    const put = await s.call(`/api/v1/config/nodes/${NODE}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ options: { logs: { defaults: { filter: { minLevel: 'warn' } } } } }),
    });
    expect(put.status).toBe(200);
    const first = await waitFor('the configuration command', () => commands[0], { timeoutMs: 60_000 });
    // The node takes it: `applying` reaches the center, its `applied` is lost.
    await report({ state: 'applying', rev: first.rev, appliedRev: 0, docHash: '', effectiveHash: '0'.repeat(64) });
    await waitFor('applying at the center', async () => (await node()).config?.state === 'applying');
    // RESEND_AFTER_MS (15 s) later the center sends it again, at the revision the node took.
    const again = await waitFor('the command sent again', () => commands[1], { timeoutMs: 120_000, intervalMs: 500 });
    expect(again).toMatchObject({ rev: first.rev, hash: first.hash });
    await report({
      state: 'applied',
      rev: first.rev,
      appliedRev: first.rev,
      docHash: first.hash,
      effectiveHash: '1'.repeat(64),
    });
    await waitFor('the node in sync', async () => (await node()).inSync, { timeoutMs: 60_000 });
  }, 240_000);
});
