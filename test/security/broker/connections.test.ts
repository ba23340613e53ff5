/**
 * The embedded broker holds at most maxConnections, so that connections which never log in
 * cannot take the file descriptors of the process `start` shares with the ingester and its
 * embedded ClickHouse. Found by the session-9 trial: 20,000 idle TCP connections to `start`'s
 * MQTT port (no CONNECT; aedes drops each after 30 s, and they were opened again) took every
 * descriptor, and every insert failed with "Too many open files". A connection over the cap is
 * closed as it is accepted; once the idle ones go, nodes connect again.
 */
import net from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedBroker, type BrokerUnderTest } from './brokers.js';
import { connect } from './shipped-broker.js';
import { waitFor } from '../../support/wait.js';

const MAX = 8;

describe('embedded broker: connection cap', () => {
  let b: BrokerUnderTest;
  const idle: net.Socket[] = [];
  let node: MqttClient | undefined;
  afterAll(async () => {
    for (const s of idle) s.destroy();
    await node?.endAsync(true);
    await b?.stop();
  });

  /** A TCP connection that sends nothing (read, so that the broker's close is seen). */
  const openIdle = (url: string) =>
    new Promise<net.Socket>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const s = net.connect(Number(port), hostname, () => resolve(s));
      s.on('error', reject);
      s.resume();
      idle.push(s);
    });

  it('closes connections over the cap as they come, and serves nodes again once they go', async () => {
    b = await embeddedBroker(['gw-a'], { maxConnections: MAX });
    const held = await Promise.all(Array.from({ length: MAX }, () => openIdle(b.nodeUrl)));
    const over = await openIdle(b.nodeUrl);
    await waitFor('the connection over the cap closed', () => over.destroyed || over.readableEnded);
    expect(b.embedded!.stats().refusedConnections).toBe(1);
    expect(held.every((s) => !s.destroyed && !s.readableEnded)).toBe(true);
    for (const s of held) s.destroy();
    node = await waitFor('a node connected', () =>
      connect(b.nodeUrl, { protocolVersion: 4, ...b.nodes['gw-a'], clientId: 'gw-a', reconnectPeriod: 0 }),
    );
    expect(node.connected).toBe(true);
  }, 60_000);
});
