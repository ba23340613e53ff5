/**
 * The MQTT side against real Mosquitto, speaking 3.1.1 (what the embedded aedes speaks): retained
 * birth, last will on a dropped link, commands to the callback, bad down messages counted.
 */
import { rm } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStatus, encodeCommand, topics, type CommandMessage, type StatusMessage } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { openTestUplink, tempDir } from './harness.js';
import { waitFor } from '../support/wait.js';

// Deadlines on connects and acks are 20 s (4x slowdown and more), so cases get 90 s, not the default 30.
describe.runIf(haveMosquitto())('uplink transport (MQTT 3.1.1)', { timeout: 90_000 }, () => {
  let broker: Mosquitto;
  let watcher: MqttClient;
  const statuses: StatusMessage[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
    watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'watcher', reconnectPeriod: 0 });
    watcher.on('message', (_topic, payload) => {
      const r = decodeStatus(payload);
      if (r.ok) statuses.push(r.value);
    });
    await watcher.subscribeAsync(topics.status('n-mqtt'), { qos: 1 });
  });
  afterAll(async () => {
    await watcher.endAsync(true);
    await broker.stop();
  });

  it('announces itself, leaves a last will when the link drops, and hands commands over', async () => {
    const node = 'n-mqtt';
    const dir = await tempDir('et-mqtt-');
    const proxy = await startFaultProxy({ port: broker.port });
    const commands: CommandMessage[] = [];
    const bad: string[] = [];
    const uplink = await openTestUplink({
      dir,
      url: proxy.url,
      node,
      protocolVersion: 4,
      onCommand: (c) => commands.push(c),
      onBadMessage: (t) => bad.push(t),
    });
    try {
      await waitFor('birth', () => statuses.some((s) => s.state === 'online'), { timeoutMs: 20_000 });
      const birth = statuses.find((s) => s.state === 'online');
      expect(birth).toMatchObject({ v: 1, node, agentVersion: 'test' });
      expect(birth?.at).toBeGreaterThan(0);

      const cmd: CommandMessage = { v: 1, type: 'cancel', pullId: 'p1', expiresAt: Date.now() + 60_000 };
      await watcher.publishAsync(topics.cmd(node), encodeCommand(cmd), { qos: 1 });
      await watcher.publishAsync(topics.ack(node), Buffer.from('{not json'), { qos: 1 });
      await waitFor('command and bad ack', () => commands.length === 1 && bad.length === 1, { timeoutMs: 20_000 });
      expect(commands[0]).toEqual(cmd);
      expect(bad).toEqual([topics.ack(node)]);

      proxy.cut();
      await waitFor('last will', () => statuses.at(-1)?.state === 'offline', { timeoutMs: 20_000 });
      expect(statuses.at(-1)).toEqual({ v: 1, node, state: 'offline', at: 0, agentVersion: 'test' });
      proxy.resume();
      await waitFor('birth after reconnect', () => statuses.at(-1)?.state === 'online', { timeoutMs: 20_000 });

      // Retained: a newcomer sees the current state at once.
      const late = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'late', reconnectPeriod: 0 });
      const seen: StatusMessage[] = [];
      late.on('message', (_t, p) => {
        const r = decodeStatus(p);
        if (r.ok) seen.push(r.value);
      });
      await late.subscribeAsync(topics.status(node), { qos: 1 });
      await waitFor('retained status', () => seen.length > 0, { timeoutMs: 20_000 });
      expect(seen[0]?.state).toBe('online');
      await late.endAsync(true);
    } finally {
      await uplink.close();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
    await waitFor(
      `offline on clean close: ${JSON.stringify(statuses)}`,
      () => statuses.at(-1)?.state === 'offline' && (statuses.at(-1)?.at ?? 0) > 0,
      { timeoutMs: 20_000 },
    );
  });
});
