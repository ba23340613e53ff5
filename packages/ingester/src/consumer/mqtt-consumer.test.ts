/**
 * The broker session against real Mosquitto: in a shared group a member that is gone must get no
 * share of the uplink (a persistent one had a third of it queued while dead), and a lone ingester
 * must find what arrived while it was away.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../../../../test/support/mosquitto.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createMqttConsumer, type MqttConsumer } from './mqtt-consumer.js';
import type { MqttConfig } from './options.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe.runIf(haveMosquitto())('ingester broker session', () => {
  let broker: Mosquitto;
  let node: MqttClient;
  const consumers: MqttConsumer[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    node = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'session-node' });
  });
  afterAll(async () => {
    for (const c of consumers) await c.stop();
    await node?.endAsync();
    await broker?.stop();
  });

  const consumer = (clientId: string, sharedGroup?: string) => {
    const config: MqttConfig = {
      url: broker.url,
      clientId,
      protocolVersion: 5,
      keepaliveS: 60,
      reconnectMs: 200,
      ...(sharedGroup ? { sharedGroup } : {}),
    };
    const c = createMqttConsumer(config, { logger: silent });
    consumers.push(c);
    return c;
  };
  const publish = async (n: number, tag: string) => {
    for (let i = 0; i < n; i++) await node.publishAsync(`et/v1/${tag}-${i}/up/status`, Buffer.from('x'), { qos: 1 });
  };

  it('in a shared group, a member that is gone gets no share', async () => {
    const got = { a: 0, b: 0 };
    const a = consumer('share-a', 'g');
    const b = consumer('share-b', 'g');
    await a.start(async () => void got.a++);
    await b.start(async () => void got.b++);
    await publish(10, 'before');
    await waitFor('both members served', () => got.a + got.b === 10);
    expect(got.a).toBeGreaterThan(0);
    expect(got.b).toBeGreaterThan(0);
    b.kill();
    got.a = 0;
    await publish(20, 'after');
    await waitFor(
      () => `all 20 at the live member (got ${got.a})`,
      () => got.a === 20,
    );
  });

  it('alone, finds what arrived while it was away', async () => {
    let got = 0;
    const first = consumer('alone-1');
    await first.start(async () => void got++);
    await first.stop();
    await publish(5, 'away');
    const back = consumer('alone-1');
    await back.start(async () => void got++);
    await waitFor(
      () => `the 5 queued messages (got ${got})`,
      () => got === 5,
    );
  });

  it('paused, takes no more messages: the persistent session gets them on its return', async () => {
    const before: string[] = [];
    const after: string[] = [];
    const first = consumer('paused-1');
    await first.start(async (topic) => void before.push(topic));
    await publish(1, 'pz-taken');
    await waitFor('the message before the pause', () => before.length === 1);
    first.pause();
    await publish(3, 'pz-held');
    await first.stop();
    const back = consumer('paused-1');
    await back.start(async (topic) => void after.push(topic));
    await waitFor(
      () => `the 3 messages left unacknowledged (got ${after.length})`,
      () => after.length === 3,
    );
    expect(before).toEqual(['et/v1/pz-taken-0/up/status']);
    expect(after.sort()).toEqual([0, 1, 2].map((i) => `et/v1/pz-held-${i}/up/status`));
  });

  // 'connected to broker' logged the URL as configured, user:pass@ and all (the log-secrets test
  // has no broker, so it never saw that line).
  it('logs the broker it connected to without the password', async () => {
    const logged: unknown[] = [];
    const keep = (fields: unknown) => void logged.push(fields);
    const c = createMqttConsumer(
      {
        url: broker.url.replace('mqtt://', 'mqtt://ingester:broker-secret-9@'),
        clientId: 'masked-1',
        protocolVersion: 5,
        keepaliveS: 60,
        reconnectMs: 200,
      },
      { logger: { debug: keep, info: keep, warn: keep, error: keep } },
    );
    consumers.push(c);
    await c.start(async () => undefined);
    expect(c.connected()).toBe(true);
    const lines = JSON.stringify(logged);
    expect(lines).toContain('mqtt://ingester:***@127.0.0.1');
    expect(lines).not.toContain('broker-secret-9');
  });
});
