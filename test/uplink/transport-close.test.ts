/**
 * A transport closed while the link is down or a reconnect is under way must stay closed: a
 * leftover connection would take the node's commands from a collector started after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { decodeStatus, topics } from '@edge-telemetry/protocol';
import { connectTransport } from '../../packages/collector/src/uplink/mqtt/transport.js';
import { MqttOptionsSchema } from '../../packages/collector/src/uplink/mqtt/options.js';
import { resolveOptions } from '../../packages/collector/src/config/resolve-options.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

const NODE = 'close-test';

describe.runIf(haveMosquitto())('transport close', () => {
  let broker: Mosquitto;
  let proxy: FaultProxy;
  let watcher: mqtt.MqttClient;
  /** The node's statuses as the broker passed them on, with the time the transport stamped on each. */
  const statuses: Array<{ state: string; at: number }> = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await startFaultProxy({ port: broker.port });
    watcher = await mqtt.connectAsync(broker.url);
    watcher.on('message', (_t, p) => {
      const s = decodeStatus(p);
      if (s.ok) statuses.push({ state: s.value.state, at: s.value.at });
    });
    await watcher.subscribeAsync(topics.status(NODE), { qos: 1 });
  });

  afterAll(async () => {
    await watcher?.endAsync();
    await proxy?.close();
    await broker?.stop();
  });

  for (const when of [0, 150, 400]) {
    it(`stays closed when closed ${when} ms into a reconnect after a cut`, async () => {
      let connects = 0;
      const options = resolveOptions(MqttOptionsSchema, {
        url: `mqtt://127.0.0.1:${proxy.port}`,
        reconnectMinMs: 100,
        reconnectMaxMs: 200,
      });
      const t = connectTransport({
        node: NODE,
        agentVersion: 't',
        options,
        handlers: {
          onConnect: () => connects++,
          onDisconnect: () => {},
          onAck: () => {},
          onCommand: () => {},
          onBadMessage: () => {},
        },
      });
      statuses.length = 0;
      // Connected, and its birth message seen.
      await new Promise<void>((r) => {
        const poll = setInterval(
          () => t.connected && statuses.some((x) => x.state === 'online') && (clearInterval(poll), r()),
          20,
        );
      });
      proxy.cut();
      // The link comes back at once, so the transport's reconnect is under way when it is closed.
      proxy.resume();
      await new Promise((r) => setTimeout(r, when));
      await t.close();
      const after = connects;
      const closedAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      expect(connects).toBe(after);
      // A birth stamped before the close may still be on its way through a loaded broker (the
      // reconnect made it); one stamped after it came from a connection left open.
      expect(statuses.filter((x) => x.state === 'online' && x.at > closedAt)).toEqual([]);
    });
  }

  it('closes a connection whose publishes are stuck in flight, instead of leaving it to drain later', async () => {
    const seen: string[] = [];
    watcher.on('message', (topic) => topic.endsWith('/up/batch') && seen.push(topic));
    await watcher.subscribeAsync(topics.batch(NODE), { qos: 1 });
    const options = resolveOptions(MqttOptionsSchema, {
      url: `mqtt://127.0.0.1:${proxy.port}`,
      reconnectMinMs: 100,
      reconnectMaxMs: 200,
    });
    const t = connectTransport({
      node: NODE,
      agentVersion: 't',
      options,
      handlers: {
        onConnect: () => {},
        onDisconnect: () => {},
        onAck: () => {},
        onCommand: () => {},
        onBadMessage: () => {},
      },
    });
    await new Promise<void>((r) => {
      const poll = setInterval(() => t.connected && (clearInterval(poll), r()), 20);
    });
    proxy.stall();
    for (let i = 0; i < 3; i++) void t.publish(topics.batch(NODE), Buffer.from(`b${i}`)).catch(() => undefined);
    await t.close();
    proxy.resume();
    await new Promise((r) => setTimeout(r, 1500));
    // A connection left open would deliver the stuck publishes once the link moves again.
    expect(seen).toEqual([]);
  });
});
