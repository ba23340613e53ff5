import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { haveMosquitto, startMosquitto } from './mosquitto.js';

describe.runIf(haveMosquitto())('mosquitto test broker', () => {
  it('starts on a free port, carries a QoS 1 message, and restarts on the same port', async () => {
    const broker = await startMosquitto();
    try {
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
      await client.subscribeAsync('t/#', { qos: 1 });
      await client.publishAsync('t/1', 'hello', { qos: 1 });
      expect(await got).toBe('hello');
      await client.endAsync();
      await broker.restart();
      const again = await mqtt.connectAsync(broker.url);
      expect(again.connected).toBe(true);
      await again.endAsync();
    } finally {
      await broker.stop();
    }
  });
});
