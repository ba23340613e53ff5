/**
 * The embedded broker grants a node only filters under its own down/, at most MAX_NODE_FILTERS of
 * them. Before, any filter was granted and only each delivery was checked: an outside trial's node
 * that subscribed to `#` with a persistent session and went away had every node's batches queued
 * for it in this process (which `start` shares with the ingester), 240 MB for 200 MB published, and
 * one that subscribed to 100,000 filters took 270 MB and minutes of CPU. Here the broker runs alone
 * in a child process (embedded-broker-main.ts), so its memory is its own.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits, topics } from '@edge-telemetry/protocol';
import { MAX_NODE_FILTERS } from '../../../packages/cli/src/embedded/embedded-broker.js';
import { embeddedBrokerProcess, type BrokerProcess } from './brokers.js';
import { collect, connect, subscribeCodes } from './shipped-broker.js';

const MiB = 1024 * 1024;
/** SUBACK's failure code in MQTT 3.1.1. */
const REFUSED = 128;

describe('embedded broker: what a node may subscribe to', () => {
  let b: BrokerProcess;
  let url: string;
  const node = (id: string, clean: boolean) =>
    connect(url, { ...b.nodes[id], clientId: id, protocolVersion: 4, clean, reconnectPeriod: 0 });

  // The suite's hook deadline (180 s), not 60 s: the broker process alone may take 120 s to start (brokers.ts).
  beforeAll(async () => {
    b = await embeddedBrokerProcess(['gw-a', 'gw-b', 'gw-c']);
    url = b.url;
  });

  afterAll(async () => {
    await b?.stop();
  });

  it("refuses a node's filters outside its own down/, and an offline session queues none of the fleet's traffic", async () => {
    const a = await node('gw-a', false);
    const grants = await subscribeCodes(a, ['#', 'et/v1/+/up/#', topics.downFilter('gw-b'), topics.downFilter('gw-a')]);
    expect(grants).toEqual([REFUSED, REFUSED, REFUSED, 1]);
    await a.endAsync();

    // While A is away, B sends 300 MiB of batches (the ingester would drop them; no one else reads them).
    const nodeB = await node('gw-b', true);
    const before = await b.memory('VmRSS');
    const batch = Buffer.alloc(limits.maxBatchWireBytes, 3);
    for (let i = 0; i < 300; i++) await nodeB.publishAsync(topics.batch('gw-b'), batch, { qos: 1 });
    await nodeB.endAsync();
    const after = await b.memory('VmRSS');
    process.stdout.write(
      `300 MiB published while a '#' session was offline: broker RSS ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB\n`,
    );
    // Queued for A, the 300 MiB would all still be held here.
    expect(after - before).toBeLessThan(150 * MiB);

    // A's own commands are still queued for it and delivered when it returns.
    const ing = await connect(url, { ...b.ingester, clientId: 'ing-subs', protocolVersion: 4 });
    await ing.publishAsync(topics.cmd('gw-a'), 'for A', { qos: 1 });
    await ing.endAsync();
    // Listening before the CONNACK: the queued command follows it at once.
    const back = mqtt.connect(url, { ...b.nodes['gw-a'], clientId: 'gw-a', protocolVersion: 4, clean: false });
    const got = collect(back);
    await got.until(topics.cmd('gw-a'), 30_000);
    expect(got.seen.map((m) => m.payload)).toEqual(['for A']);
    await back.endAsync(true);
  }, 120_000);

  it(`grants a node at most ${MAX_NODE_FILTERS} filters, the ingester any number`, async () => {
    const c = await node('gw-c', true);
    const own = Array.from({ length: 100 }, (_, i) => `${topics.downFilter('gw-c').replace('#', '')}x/${i}`);
    const first = await subscribeCodes(c, own);
    const again = await subscribeCodes(c, [own[0]!, `${own[0]!}/more`]);
    await c.endAsync(true);
    const ing = await connect(url, { ...b.ingester, clientId: 'ing-many', protocolVersion: 4 });
    const ingGrants = await subscribeCodes(
      ing,
      Array.from({ length: 100 }, (_, i) => `et/v1/+/up/x${i}`),
    );
    await ing.endAsync(true);
    expect({
      granted: first.filter((q) => q !== REFUSED).length,
      again,
      ingester: ingGrants.filter((q) => q !== REFUSED).length,
    }).toEqual({ granted: MAX_NODE_FILTERS, again: [1, REFUSED], ingester: 100 });
    expect(b.output()).toMatch(/refused subscribe .*"user":"gw-c"/);
  }, 60_000);
});
