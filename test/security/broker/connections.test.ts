/**
 * The embedded broker holds at most maxConnections, so that connections which never log in
 * cannot take the file descriptors of the process `start` shares with the ingester and its
 * embedded ClickHouse. Found by the session-9 trial: 20,000 idle TCP connections to `start`'s
 * MQTT port (no CONNECT; aedes drops each after 30 s, and they were opened again) took every
 * descriptor, and every insert failed with "Too many open files". A connection over the cap is
 * closed as it is accepted; once the idle ones go, nodes connect again. The shipped Mosquitto
 * holds a connection without CONNECT for 90 s (no setting shortens it) and had no cap on its node
 * listener (session 13: 3,000 idle TLS connections, 96 MB); its cap is read from the shipped file.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedBroker, shippedMosquitto, type BrokerUnderTest } from './brokers.js';
import { connect, SHIPPED_CONF, tryConnect } from './shipped-broker.js';
import { haveMosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait.js';

const MAX = 8;

const idle: net.Socket[] = [];
let node: MqttClient | undefined;
afterAll(async () => {
  for (const s of idle) s.destroy();
  await node?.endAsync(true);
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
const closed = (s: net.Socket) => s.destroyed || s.readableEnded;

describe('embedded broker: connection cap', () => {
  let b: BrokerUnderTest;
  afterAll(async () => {
    await b?.stop();
  });

  it('closes connections over the cap as they come, and serves nodes again once they go', async () => {
    b = await embeddedBroker(['gw-a'], { maxConnections: MAX });
    const held = await Promise.all(Array.from({ length: MAX }, () => openIdle(b.nodeUrl)));
    const over = await openIdle(b.nodeUrl);
    await waitFor('the connection over the cap closed', () => closed(over));
    expect(b.embedded!.stats().refusedConnections).toBe(1);
    expect(held.some(closed)).toBe(false);
    for (const s of held) s.destroy();
    node = await waitFor('a node connected', () =>
      connect(b.nodeUrl, { protocolVersion: 4, ...b.nodes['gw-a'], clientId: 'gw-a', reconnectPeriod: 0 }),
    );
    expect(node.connected).toBe(true);
  }, 60_000);
});

/** The max_connections line of the shipped listener `port` (8883 or 1883). */
function shippedCap(port: number): number | undefined {
  const section = readFileSync(SHIPPED_CONF, 'utf8')
    .split(/^listener /m)
    .find((l) => l.startsWith(`${port}\n`));
  const m = /^max_connections (\d+)$/m.exec(section ?? '');
  return m ? Number(m[1]) : undefined;
}

describe.runIf(haveMosquitto())('shipped Mosquitto: connection caps', () => {
  let b: BrokerUnderTest;
  afterAll(async () => {
    await b?.stop();
  });

  it('caps both listeners in the shipped file', () => {
    expect(shippedCap(8883)).toBeGreaterThan(0);
    expect(shippedCap(1883)).toBeGreaterThan(0);
  });

  it('holds at most the cap of connections without CONNECT on the node listener; nodes connect once they go', async () => {
    // The shipped listener and its cap line, with a cap a test can fill (the shipped one is checked above).
    const cap = 32;
    b = await shippedMosquitto(['gw-a'], { maxConnections: cap });
    const opened = await Promise.all(Array.from({ length: cap + 8 }, () => openIdle(b.nodeUrl)));
    await waitFor(
      () => `the broker to close what is over its cap (${opened.filter(closed).length} closed)`,
      () => opened.filter((s) => !closed(s)).length <= cap,
      { timeoutMs: 60_000 },
    );
    // Full: a node with the right password is refused, until the idle connections go.
    const refused = await tryConnect(b.nodeUrl, {
      ...b.nodeTransport,
      ...b.nodes['gw-a'],
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    if (refused.ok) await refused.client.endAsync(true);
    expect(refused.ok).toBe(false);
    for (const s of opened) s.destroy();
    node = await waitFor('a node connected', () =>
      connect(b.nodeUrl, { ...b.nodeTransport, ...b.nodes['gw-a'], protocolVersion: 4, reconnectPeriod: 0 }),
    );
    expect(node.connected).toBe(true);
  }, 120_000);
});
