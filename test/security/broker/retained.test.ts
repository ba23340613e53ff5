/**
 * The embedded broker keeps a retained message only on a node's own status topic, the one the
 * contract retains. A node may publish anywhere under its own up/, and each retained publish there
 * stayed in the broker's memory (which `start` shares with the ingester): 1,000 of 200 KB took
 * 236 MB in an outside trial. Such publishes are delivered as usual but not kept. Mosquitto cannot
 * refuse a retain per topic: docs/security.md says so.
 *
 * Never sleeps: a retained message is delivered to a new subscriber before anything published
 * after it subscribed, so once a marker published afterwards has arrived, a kept one would have.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edge-telemetry/protocol';
import { embeddedBroker, type BrokerUnderTest } from './brokers.js';
import { collect, connect } from './shipped-broker.js';

describe('embedded broker: retained messages', () => {
  let b: BrokerUnderTest;
  const open: MqttClient[] = [];
  beforeAll(async () => {
    b = await embeddedBroker(['gw-a']);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await b?.stop();
  });
  const client = async (who: 'node' | 'ingester', clientId: string) => {
    const creds = who === 'node' ? b.nodes['gw-a'] : b.ingester;
    const url = who === 'node' ? b.nodeUrl : b.ingesterUrl;
    const c = await connect(url, { protocolVersion: 4, ...creds, clientId });
    open.push(c);
    return c;
  };

  it("keeps a node's retained status, delivers its other retained publishes without keeping them", async () => {
    const live = await client('ingester', 'ing-live');
    const liveGot = collect(live);
    await live.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    const a = await client('node', 'gw-a');
    const junk = `${topics.batch('gw-a')}/junk/1`;
    await a.publishAsync(junk, Buffer.alloc(200_000, 'x'), { qos: 1, retain: true });
    await a.publishAsync(topics.batch('gw-a'), 'retained batch', { qos: 1, retain: true });
    await a.publishAsync(topics.status('gw-a'), 'online', { qos: 1, retain: true });
    await liveGot.until(topics.status('gw-a'), 30_000);

    const fresh = await client('ingester', 'ing-fresh');
    const freshGot = collect(fresh);
    await fresh.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    const marker = topics.pull('gw-a', 'marker');
    await a.publishAsync(marker, 'after the subscription', { qos: 1 });
    await freshGot.until(marker, 30_000);

    expect({
      // The marker may or may not have reached the live subscriber yet.
      live: liveGot.seen.map((m) => m.topic).filter((t) => t !== marker),
      fresh: freshGot.seen.map((m) => m.topic),
      unretained: b.embedded!.stats().unretained,
    }).toEqual({
      live: [junk, topics.batch('gw-a'), topics.status('gw-a')],
      fresh: [topics.status('gw-a'), marker],
      unretained: 2,
    });
  });
});
