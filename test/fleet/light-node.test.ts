/**
 * The simulator's light node (packages/cli/src/simulate/light-node.ts), used by the 1,000-node
 * rollout bench, against Mosquitto with this test as the center: it announces itself as a
 * collector does (capabilities with CONFIG_DOC_VERSION, its configuration state), answers a
 * `config` command with `applied` and the effective hash the collector's own functions give for
 * that document, refuses what the collector would refuse with the same reason and keeps the
 * previous revision, and ships valid batches. Waits on messages, never on time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRemoteOptions, effectiveHash } from '@edge-telemetry/collector';
import {
  CONFIG_DOC_VERSION,
  createBatchCodec,
  createConfigCodec,
  decodeStatus,
  encodeCommand,
  topics,
  type ConfigDocument,
  type StatusMessage,
} from '@edge-telemetry/protocol';
import { nodeConfig } from '../../packages/cli/src/simulate/node-config.js';
import { parseSimulateArgs } from '../../packages/cli/src/simulate/options.js';
import { startLightNode, type LightNode } from '../../packages/cli/src/simulate/light-node.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

const NODE = 'light-1';

describe.runIf(haveMosquitto())('light simulated node', () => {
  let broker: Mosquitto;
  let center: MqttClient;
  let light: LightNode;
  let dir: string;
  const statuses: StatusMessage[] = [];
  let batches = 0;
  const codec = createConfigCodec();
  const batchCodec = createBatchCodec();

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-light-node-'));
    center = await mqtt.connectAsync(broker.url, { clientId: 'light-center', protocolVersion: 4 });
    center.on('message', (topic, payload) => {
      if (topic === topics.status(NODE)) {
        const s = decodeStatus(payload, NODE);
        if (s.ok) statuses.push(s.value);
      } else if (topic === topics.batch(NODE) && batchCodec.decode(payload, NODE).ok) batches++;
    });
    await center.subscribeAsync([topics.status(NODE), topics.batch(NODE)], { qos: 1 });
  });
  afterAll(async () => {
    await light?.close();
    await center?.endAsync(true);
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('announces itself, applies a valid document with the collector hash, refuses an invalid one, ships batches', async () => {
    const parsed = parseSimulateArgs([
      ...['--nodes', '1', '--broker', broker.url, '--data-dir', dir, '--scrape-ms', '100', '--window-ms', '200'],
    ]);
    if (!('options' in parsed)) throw new Error(parsed.problems.join('; '));
    const config = nodeConfig(parsed.options, NODE, broker.url);
    light = await startLightNode({ config, agentVersion: 'light-test' });
    const birth = await waitFor('the birth status', () => statuses.find((s) => s.state === 'online'));
    expect(birth.capabilities?.config).toEqual([CONFIG_DOC_VERSION]);
    expect(birth.config).toMatchObject({ state: 'applied', appliedRev: 0, effectiveHash: effectiveHash(config) });

    const send = async (doc: ConfigDocument, rev: number) =>
      center.publishAsync(topics.cmd(NODE), encodeCommand(codec.command(doc, rev, Date.now() + 60_000)), { qos: 1 });
    const good: ConfigDocument = { options: { logs: { defaults: { filter: { minLevel: 'warn' } } } } };
    await send(good, 5);
    const applied = await waitFor('revision 5 applied', () => statuses.find((s) => s.config?.appliedRev === 5));
    const want = applyRemoteOptions(config, good.options, config);
    expect(want.ok).toBe(true);
    expect(applied.config).toMatchObject({
      state: 'applied',
      rev: 5,
      effectiveHash: want.ok ? effectiveHash(want.config) : '',
    });

    // 150 ms is not a multiple of the node's 100 ms scrape interval: the collector refuses it.
    await send({ options: { downsample: { windowMs: 150 } } }, 6);
    const failed = await waitFor('revision 6 refused', () => statuses.find((s) => s.config?.rev === 6));
    expect(failed.config).toMatchObject({
      state: 'failed',
      appliedRev: 5,
      reason: 'downsample.windowMs (150) must be a multiple of scrapeIntervalMs (100)',
    });
    await waitFor('two batches that decode and validate', () => (batches >= 2 ? true : undefined), {
      timeoutMs: 20_000,
    });
    expect(light.published()).toBeGreaterThanOrEqual(2);
  });
});
