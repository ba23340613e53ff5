/**
 * What only Mosquitto shows, over MQTT 5 (the embedded broker speaks 3.1.1; acl.test.ts asks both
 * brokers the same questions): the reason codes it answers (PUBACK 0x87 for a forbidden publish,
 * CONNACK 0x86/0x87), shared subscriptions for several ingesters, and its packet size limit.
 * Negative checks never sleep: a forbidden message is sent before an allowed one on the same
 * connection, so once the allowed one has arrived the forbidden one would have arrived first had
 * the broker let it through.
 */
import { readFile } from 'node:fs/promises';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { limits, topics } from '@edge-telemetry/protocol';
import { MAX_PACKET_BYTES } from '../../../packages/cli/src/embedded/embedded-broker.js';
import { haveMosquitto } from '../../support/mosquitto.js';
import {
  collect,
  connect,
  SHIPPED_CONF,
  startShippedBroker,
  tryConnect,
  type ShippedBroker,
} from './shipped-broker.js';

describe.runIf(haveMosquitto())(
  'shipped Mosquitto over MQTT 5 (reason codes, shared subscriptions, size limit)',
  () => {
    let b: ShippedBroker;
    const open: MqttClient[] = [];
    const track = (c: MqttClient) => (open.push(c), c);

    beforeAll(async () => {
      b = await startShippedBroker(['gw-a', 'gw-b']);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
    });
    afterAll(async () => {
      await b?.stop();
    });

    const node = async (id: 'gw-a' | 'gw-b', extra: IClientOptions = {}) =>
      track(await connect(b.tlsUrl, { ca: b.ca, ...b.nodes[id], clientId: id, ...extra }));
    const ingester = async (clientId: string) => track(await connect(b.internalUrl, { ...b.ingester, clientId }));

    it('delivers what a node publishes under its own id, and drops what it publishes as another node', async () => {
      const ing = await ingester('ing-1');
      const got = collect(ing);
      await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
      const a = await node('gw-a');
      // MQTT 5 tells the publisher: PUBACK reason 0x87, not authorized.
      await expect(a.publishAsync(topics.batch('gw-b'), 'forged by A', { qos: 1 })).rejects.toMatchObject({
        code: 0x87,
      });
      await expect(
        a.publishAsync(topics.status('gw-b'), 'forged by A', { qos: 1, retain: true }),
      ).rejects.toMatchObject({
        code: 0x87,
      });
      await expect(a.publishAsync('et/v1/gw-a/down/cmd', 'A commanding itself', { qos: 1 })).rejects.toMatchObject({
        code: 0x87,
      });
      await a.publishAsync(topics.batch('gw-a'), 'genuine', { qos: 1 });
      await got.until(topics.batch('gw-a'));
      expect(got.seen).toEqual([{ topic: topics.batch('gw-a'), payload: 'genuine' }]);
    });

    it("refuses a node logging in with another node's password, a wrong password, or none", async () => {
      const asB = await tryConnect(b.tlsUrl, { ca: b.ca, username: 'gw-b', password: b.nodes['gw-a']?.password });
      const wrongUser = await tryConnect(b.tlsUrl, { ca: b.ca, username: 'gw-a', password: b.nodes['gw-b']?.password });
      const anonymous = await tryConnect(b.tlsUrl, { ca: b.ca });
      const asIngester = await tryConnect(b.tlsUrl, {
        ca: b.ca,
        username: 'ingester',
        password: b.nodes['gw-a']?.password,
      });
      for (const r of [asB, wrongUser, anonymous, asIngester]) {
        expect(r.ok).toBe(false);
        // MQTT 5: 0x86 bad user name or password, 0x87 not authorized.
        if (!r.ok) expect([0x86, 0x87]).toContain(r.code);
      }
    });

    it('lets ingesters share the uplink of every node through $share/ingest, and command any node', async () => {
      const ing1 = await ingester('ing-share-1');
      const ing2 = await ingester('ing-share-2');
      const got1 = collect(ing1);
      const got2 = collect(ing2);
      const subs = await Promise.all(
        [ing1, ing2].map((c) => c.subscribeAsync(topics.ingestFilter('ingest'), { qos: 1 })),
      );
      expect(subs.flat().map((g) => g.qos)).toEqual([1, 1]);

      const a = await node('gw-a');
      const bNode = await node('gw-b');
      const sent = ['gw-a', 'gw-b'].flatMap((id) => [1, 2, 3].map((i) => ({ id, payload: `${id}-${i}` })));
      for (const m of sent) await (m.id === 'gw-a' ? a : bNode).publishAsync(topics.batch(m.id), m.payload, { qos: 1 });
      // Six deliveries through a loaded machine's broker: expect.poll's default (1 s) is too short for them.
      await expect.poll(() => got1.seen.length + got2.seen.length, { timeout: 30_000 }).toBe(sent.length);
      // Each message reached exactly one ingester, and the load was spread over both.
      expect([...got1.seen, ...got2.seen].map((m) => m.payload).sort()).toEqual(sent.map((m) => m.payload).sort());
      expect(got1.seen.length).toBeGreaterThan(0);
      expect(got2.seen.length).toBeGreaterThan(0);

      const gotA = collect(a);
      await a.subscribeAsync(topics.downFilter('gw-a'), { qos: 1 });
      await ing1.publishAsync(topics.ack('gw-a'), 'acked', { qos: 1 });
      await gotA.until(topics.ack('gw-a'));
      expect(gotA.seen).toEqual([{ topic: topics.ack('gw-a'), payload: 'acked' }]);
    });

    it('does not let the ingester account publish as a node', async () => {
      const watcher = await ingester('ing-watch');
      const got = collect(watcher);
      await watcher.subscribeAsync(topics.ingestFilter(), { qos: 1 });
      const ing = await ingester('ing-forger');
      await expect(
        ing.publishAsync(topics.batch('gw-a'), 'forged by the ingester account', { qos: 1 }),
      ).rejects.toMatchObject({ code: 0x87 });
      const a = await node('gw-a');
      await a.publishAsync(topics.batch('gw-a'), 'genuine', { qos: 1 });
      await got.until(topics.batch('gw-a'));
      expect(got.seen.map((m) => m.payload)).toEqual(['genuine']);
    });

    it('carries the largest batch the protocol allows and cuts a connection that sends a larger packet', async () => {
      const ing = await ingester('ing-size');
      const got = collect(ing);
      await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
      const limit = Number(/^max_packet_size (\d+)$/m.exec(await readFile(SHIPPED_CONF, 'utf8'))?.[1]);
      // The embedded broker's limit: the protocol's largest message and 4 KiB for topic and properties.
      expect(limit).toBe(MAX_PACKET_BYTES);
      const a = await node('gw-a');
      await a.publishAsync(topics.batch('gw-a'), Buffer.alloc(limits.maxBatchWireBytes, 2), { qos: 1 });
      // Ended first: a second connection as gw-a would take this one's place and close it either way.
      await a.endAsync();
      // CONNACK tells an MQTT 5 client the limit (mqtt.js then sends nothing larger); a 3.1.1 client
      // is not told, and the broker closes its connection at the packet's fixed header.
      const old = await node('gw-a', { protocolVersion: 4 });
      const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));
      old.publish(topics.batch('gw-a'), Buffer.alloc(limit, 1), { qos: 1 }, () => undefined);
      await closed;
      // Published after the oversized one was refused: it arrives, and nothing before it but the largest batch.
      const again = await node('gw-a');
      await again.publishAsync(topics.batch('gw-a'), 'small', { qos: 1 });
      await expect.poll(() => got.seen.length, { timeout: 30_000 }).toBe(2);
      expect(got.seen.map((m) => m.payload.length)).toEqual([limits.maxBatchWireBytes, 'small'.length]);
    });
  },
);
