/**
 * The embedded broker closes a connection at its first QoS 2 publish, before aedes stores it. aedes
 * keeps a QoS 2 publish until its PUBREL for as long as the session lives, across reconnects (its
 * `maxInflightInbound` bounds one connection only): in an outside trial one node account that never
 * sent PUBREL took `start`'s process from 337 MB to 3.4 GB with 3,000 publishes of 1 MB over three
 * connections, and the message ids allow 65,535. The contract uses QoS 1 at most; Mosquitto stayed
 * under 100 MB in the same trial.
 *
 * Never sleeps: the node's next connection publishes a marker at QoS 1 after the refused publish's
 * connection closed, so once the marker has arrived a delivered QoS 2 publish would have.
 */
import type { MqttClient, Packet } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edge-telemetry/protocol';
import { embeddedBroker, type BrokerUnderTest } from './brokers.js';
import { collect, connect } from './shipped-broker.js';

describe('embedded broker: QoS 2 publishes', () => {
  let b: BrokerUnderTest;
  const open: MqttClient[] = [];
  beforeAll(async () => {
    b = await embeddedBroker(['gw-a']);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.endAsync(true)));
    await b?.stop();
  });
  const node = async () => {
    const c = await connect(b.nodeUrl, { protocolVersion: 4, ...b.nodes['gw-a'], clientId: 'gw-a', clean: false });
    open.push(c);
    return c;
  };

  it('closes the connection at a QoS 2 publish without storing, acknowledging or delivering it', async () => {
    const ing = await connect(b.ingesterUrl, { protocolVersion: 4, ...b.ingester, clientId: 'ing-qos' });
    open.push(ing);
    const got = collect(ing);
    await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });

    const a = await node();
    const received: Packet['cmd'][] = [];
    // Whichever comes first: the close, or the broker's answer that it took the publish.
    const answered = new Promise<void>((resolve) => {
      a.once('close', () => resolve());
      a.on('packetreceive', (p) => {
        received.push(p.cmd);
        if (p.cmd === 'pubrec' || p.cmd === 'puback') resolve();
      });
    });
    a.publish(topics.batch('gw-a'), Buffer.alloc(100_000, 'x'), { qos: 2 });
    await answered;
    await a.endAsync(true);

    const again = await node();
    const marker = topics.pull('gw-a', 'marker');
    await again.publishAsync(marker, 'after the refused publish', { qos: 1 });
    await got.until(marker);

    expect({
      acknowledged: received.filter((cmd) => cmd === 'pubrec' || cmd === 'puback'),
      delivered: got.seen.map((m) => m.topic),
      refusedQos: b.embedded!.stats().refusedQos,
    }).toEqual({ acknowledged: [], delivered: [marker], refusedQos: 1 });
  });
});
