/**
 * Issue 8 and 16, "what must be shown": the same questions asked of the shipped Mosquitto
 * configuration and of the embedded broker of `start`, with node accounts made by `nodes add`;
 * each test reduces what it saw to an answer, and both brokers must give the expected one. An
 * anonymous client and a node with another node's credentials can neither publish as another
 * node, nor read another node's topics, nor send commands, nor take another client id; the
 * ingester can do its job. MQTT 3.1.1 throughout (all aedes speaks; Mosquitto's MQTT 5 reason codes
 * are in mosquitto-v5.test.ts).
 *
 * Negative checks never sleep: a forbidden message is sent before an allowed one on the same
 * connection (or retained before a subscription), so once the allowed one has arrived the
 * forbidden one would have arrived first had the broker let it through.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../../support/mosquitto.js';
import { embeddedBroker, shippedMosquitto, type BrokerUnderTest } from './brokers.js';
import { collect, connect, subscribeCodes, tryConnect } from './shipped-broker.js';

const brokers: [string, (ids: string[]) => Promise<BrokerUnderTest>][] = [['embedded', embeddedBroker]];
if (haveMosquitto()) brokers.push(['mosquitto', shippedMosquitto]);

describe.each(brokers)('broker ACL: %s broker, nodes made by `nodes add`', (_name, start) => {
  let b: BrokerUnderTest;
  const open: MqttClient[] = [];
  const track = (c: MqttClient) => (open.push(c), c);
  const v4 = { protocolVersion: 4 as const };

  beforeAll(async () => {
    b = await start(['gw-a', 'gw-b']);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await b?.stop();
  });

  const node = async (id: 'gw-a' | 'gw-b', extra: IClientOptions = {}) =>
    track(await connect(b.nodeUrl, { ...b.nodeTransport, ...v4, ...b.nodes[id], clientId: id, ...extra }));
  const ingester = async (clientId: string) => track(await connect(b.ingesterUrl, { ...v4, ...b.ingester, clientId }));

  it('delivers only what a node publishes under its own id; forged batches, statuses and commands are dropped', async () => {
    const ing = await ingester('ing-pub');
    const got = collect(ing);
    await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    const a = await node('gw-a');
    const downWatch = await node('gw-b');
    const gotB = collect(downWatch);
    await downWatch.subscribeAsync(topics.downFilter('gw-b'), { qos: 1 });
    // 3.1.1 has no refusal code for a publish: both brokers acknowledge it and drop it.
    await a.publishAsync(topics.batch('gw-b'), 'forged batch', { qos: 1 });
    await a.publishAsync(topics.status('gw-b'), 'forged status', { qos: 1, retain: true });
    await a.publishAsync(topics.cmd('gw-b'), 'forged command', { qos: 1 });
    await a.publishAsync(topics.cmd('gw-a'), 'A commanding itself', { qos: 1 });
    await a.publishAsync(topics.batch('gw-a'), 'genuine', { qos: 1 });
    await got.until(topics.batch('gw-a'));
    // B hears its own genuine command after the forged one would have reached it.
    await ing.publishAsync(topics.cmd('gw-b'), 'from the ingester', { qos: 1 });
    await gotB.until(topics.cmd('gw-b'));
    const ingesterSaw = got.seen.map((m) => m.payload);
    // The forged retained status was not kept either: a fresh subscriber gets none before B's own.
    const fresh = await ingester('ing-fresh');
    const gotFresh = collect(fresh);
    await fresh.subscribeAsync(topics.status('gw-b'), { qos: 1 });
    await downWatch.publishAsync(topics.status('gw-b'), 'genuine status', { qos: 1 });
    await gotFresh.until(topics.status('gw-b'));
    expect({
      ingester: ingesterSaw,
      nodeB: gotB.seen.map((m) => m.payload),
      statusSubscriber: gotFresh.seen.map((m) => m.payload),
    }).toEqual({ ingester: ['genuine'], nodeB: ['from the ingester'], statusSubscriber: ['genuine status'] });
  });

  it("delivers a node none of another node's commands or acks, through its filter or wildcards", async () => {
    const a = await node('gw-a');
    const got = collect(a);
    // Mosquitto grants every filter and checks each delivery; the embedded broker refuses those
    // outside A's own down/ (subscriptions.test.ts): either way only A's own may arrive.
    await subscribeCodes(a, [
      topics.downFilter('gw-b'),
      topics.downFilter('gw-a'),
      'et/v1/+/down/#',
      'et/v1/+/up/#',
      '#',
      '$SYS/#',
    ]);
    const bNode = await node('gw-b');
    const ing = await ingester('ing-read');
    await bNode.publishAsync(topics.batch('gw-b'), "B's batch", { qos: 1 });
    await ing.publishAsync(topics.cmd('gw-b'), 'for B only', { qos: 1 });
    await ing.publishAsync(topics.ack('gw-b'), 'for B only', { qos: 1 });
    await ing.publishAsync(topics.cmd('gw-a'), 'for A', { qos: 1 });
    await got.until(topics.cmd('gw-a'));
    expect(got.seen.filter((m) => !m.topic.startsWith('$SYS'))).toEqual([
      { topic: topics.cmd('gw-a'), payload: 'for A' },
    ]);
    expect(got.seen.filter((m) => m.topic.startsWith('$SYS'))).toEqual([]);
  });

  it('refuses anonymous clients, wrong passwords, and node passwords for other accounts', async () => {
    const attempts: [string, IClientOptions][] = [
      ['anonymous', {}],
      ["B's name, A's password", { username: 'gw-b', password: b.nodes['gw-a']?.password }],
      ["A's name, B's password", { username: 'gw-a', password: b.nodes['gw-b']?.password }],
      ["the ingester's name, A's password", { username: 'ingester', password: b.nodes['gw-a']?.password }],
      ['an unknown name', { username: 'gw-nobody', password: b.nodes['gw-a']?.password }],
      ["A's name, no password", { username: 'gw-a' }],
    ];
    const answers: Record<string, string> = {};
    for (const [what, opts] of attempts) {
      const r = await tryConnect(b.nodeUrl, { ...b.nodeTransport, ...v4, clientId: `probe-${what.length}`, ...opts });
      if (r.ok) await r.client.endAsync(true);
      answers[what] = r.ok ? 'connected' : `refused ${r.code ?? r.reason}`;
    }
    // CONNACK 5: "not authorized", what Mosquitto answers a 3.1.1 client for any of these.
    expect(answers).toEqual(Object.fromEntries(attempts.map(([what]) => [what, 'refused 5'])));
  });

  it("does not let a node take another node's client id: the other stays connected and keeps its session", async () => {
    // B has a persistent session and is connected.
    const bFirst = await node('gw-b', { clean: false });
    await bFirst.subscribeAsync(topics.downFilter('gw-b'), { qos: 1 });
    let bDisconnected = false;
    bFirst.on('close', () => (bDisconnected = true));
    const gotB = collect(bFirst);
    // A presents B's client id; the broker uses A's account as its client id instead.
    const a = await node('gw-a', { clientId: 'gw-b', clean: false });
    const gotA = collect(a);
    await a.subscribeAsync(topics.downFilter('gw-a'), { qos: 1 });
    const ing = await ingester('ing-takeover');
    await ing.publishAsync(topics.cmd('gw-b'), 'for B', { qos: 1 });
    await ing.publishAsync(topics.cmd('gw-a'), 'for A', { qos: 1 });
    await gotA.until(topics.cmd('gw-a'));
    await gotB.until(topics.cmd('gw-b'));
    expect({ bDisconnected, aGot: gotA.seen.map((m) => m.payload), bGot: gotB.seen.map((m) => m.payload) }).toEqual({
      bDisconnected: false,
      aGot: ['for A'],
      bGot: ['for B'],
    });
  });

  it("does not let a node disconnect another through the ingester's listener", async () => {
    const bNode = await node('gw-b', { clean: false });
    await bNode.subscribeAsync(topics.downFilter('gw-b'), { qos: 1 });
    let bDisconnected = false;
    bNode.on('close', () => (bDisconnected = true));
    const gotB = collect(bNode);
    // Mosquitto: that listener admits the ingester's account alone. Embedded: one listener, where
    // A's client id is forced to its account.
    const a = await tryConnect(b.ingesterUrl, { ...v4, ...b.nodes['gw-a'], clientId: 'gw-b' });
    if (a.ok) track(a.client);
    const ing = await ingester('ing-internal');
    await ing.publishAsync(topics.cmd('gw-b'), 'for B', { qos: 1 });
    await gotB.until(topics.cmd('gw-b'));
    expect({ bDisconnected, bGot: gotB.seen.map((m) => m.payload) }).toEqual({ bDisconnected: false, bGot: ['for B'] });
    expect(a.ok ? 'connected as itself' : `refused ${a.code}`).toBe(
      b.name === 'mosquitto' ? 'refused 5' : 'connected as itself',
    );
  });

  it("does not let a node disconnect the ingester by presenting the ingester's client id, on either listener", async () => {
    const ing = await ingester('et-ingester-victim');
    let ingDisconnected = false;
    ing.on('close', () => (ingDisconnected = true));
    const got = collect(ing);
    await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    const answers: string[] = [];
    for (const url of [b.nodeUrl, b.ingesterUrl]) {
      const transport = url === b.nodeUrl ? b.nodeTransport : {};
      const a = await tryConnect(url, { ...transport, ...v4, ...b.nodes['gw-a'], clientId: 'et-ingester-victim' });
      if (!a.ok) {
        answers.push(`refused ${a.code}`);
        continue;
      }
      track(a.client);
      answers.push('connected as itself');
      await a.client.publishAsync(topics.batch('gw-a'), url, { qos: 1 });
    }
    // The ingester still receives what gw-a published after presenting its id.
    await got.until(topics.batch('gw-a'));
    expect({ ingDisconnected, answers }).toEqual({
      ingDisconnected: false,
      answers:
        b.name === 'mosquitto' ? ['connected as itself', 'refused 5'] : ['connected as itself', 'connected as itself'],
    });
  });

  it("lets the ingester read every node's uplink and command any node, but not publish as a node", async () => {
    const ing = await ingester('ing-all');
    const got = collect(ing);
    await ing.subscribeAsync(topics.ingestFilter(), { qos: 1 });
    await ing.publishAsync(topics.batch('gw-a'), 'forged by the ingester account', { qos: 1 });
    const a = await node('gw-a');
    const bNode = await node('gw-b');
    const gotA = collect(a);
    await a.subscribeAsync(topics.downFilter('gw-a'), { qos: 1 });
    await a.publishAsync(topics.batch('gw-a'), 'from A', { qos: 1 });
    await bNode.publishAsync(topics.pull('gw-b', 'p1'), 'chunk from B', { qos: 1 });
    await ing.publishAsync(topics.ack('gw-a'), 'acked', { qos: 1 });
    // Two deliveries through the broker: as long as `until` gives one (expect.poll's default is 1 s).
    await expect.poll(() => got.seen.length, { timeout: 30_000 }).toBe(2);
    await gotA.until(topics.ack('gw-a'));
    expect({ ingester: got.seen.map((m) => m.payload).sort(), nodeA: gotA.seen.map((m) => m.payload) }).toEqual({
      ingester: ['chunk from B', 'from A'],
      nodeA: ['acked'],
    });
  });
});
