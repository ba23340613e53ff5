/**
 * What docs/security.md says a node pays when an ingester of a shared group stalls (residual risks,
 * `max_queued_bytes`): Mosquitto keeps handing the stalled member its round-robin turn, and drops
 * what its queue cannot hold, silently to the publisher. A member that stops acknowledging (the
 * ingester stops reading at its socket while its writer is full) is played by a client that stops
 * reading, with the queue limits small so that the drop comes after a few messages, not 64 MiB.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait.js';

const SHARED = '$share/ingest/et/v1/+/up/batch';
const N = 20;

describe.runIf(haveMosquitto())('Mosquitto: a stalled member of the ingesters shared group', () => {
  let broker: Mosquitto;
  const clients: mqtt.MqttClient[] = [];
  const connect = async (clientId: string, o: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(broker.url, { clientId, reconnectPeriod: 0, ...o });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startMosquitto({
      ownQueueLimits: true,
      extraConfig: 'max_inflight_messages 1\nmax_queued_messages 2\nsys_interval 1',
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker?.stop();
  });

  it('keeps its round-robin turn and has the broker drop what its queue cannot hold', async () => {
    // Stops reading at its socket, as an ingester does while its writer is full: one message in
    // flight to it, two queued, the rest of its turns dropped. (No keepalive: it reads no PINGRESP.)
    const stalled = await connect('ingester-stalled', { keepalive: 0 });
    await stalled.subscribeAsync(SHARED, { qos: 1 });
    stalled.stream.unpipe();
    const live = await connect('ingester-live');
    const got: string[] = [];
    live.on('message', (_t, m) => got.push(m.toString()));
    await live.subscribeAsync(SHARED, { qos: 1 });
    const sys = await connect('sys');
    let dropped = 0;
    sys.on('message', (_t, m) => (dropped = Number(m.toString())));
    await sys.subscribeAsync('$SYS/broker/publish/messages/dropped');

    const node = await connect('gw-1');
    // Every publish is taken by the broker (PUBACK): the node cannot tell a dropped one. Each second
    // publish waits for the live member's share, so its own queue never holds more than one.
    for (let i = 0; i < N; i++) {
      await node.publishAsync('et/v1/gw-1/up/batch', `b${i}`, { qos: 1 });
      if (i % 2 === 1) await waitFor(`the live member's message of pair ${i}`, () => got.length === (i + 1) / 2);
    }
    // Half to each member whatever the stalled one's queue holds: one in flight to it, two queued,
    // the other seven of its turns dropped, and the live member took none of them, so those batches
    // wait for their nodes' resends.
    await waitFor('the broker to count the drops', () => dropped === N / 2 - 3, { timeoutMs: 30_000 });
    expect(got).toHaveLength(N / 2);
  });
});
