/**
 * A link cut at every stage of a node's exchange with the broker: the CONNECT, its CONNACK, the
 * birth publish, the SUBSCRIBE and its SUBACK, a batch publish, its PUBACK and the ingester's ack
 * coming down. The fault proxy drops the connection when the chosen packet crosses it (once), with
 * the link back at once or only after a while; after each, the node must connect again and
 * publish: a batch submitted afterwards is stored and its outbox empties. The fleet simulator saw
 * a node that connected once and never published again (issue: simulate flake).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { topics, type Batch } from '@edge-telemetry/protocol';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import type { Uplink } from '../../packages/collector/src/uplink/index.js';
import { startAcker, type Acker } from './acker.js';
import { testBatch } from './batches.js';
import { openTestUplink, tempDir } from './harness.js';
import { waitFor } from '../support/wait.js';

/** MQTT control packet types (the high nibble of the first byte). */
const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBSCRIBE = 8;
const SUBACK = 9;

interface Packet {
  type: number;
  /** PUBLISH only. */
  topic?: string;
}

/** Splits one direction of one connection into packets (chunks may hold several, or part of one). */
function packetReader(): (chunk: Buffer) => Packet[] {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    const out: Packet[] = [];
    for (;;) {
      let len = 0;
      let mul = 1;
      let at = 1;
      for (; at < buf.length && at <= 4; at++) {
        const b = buf[at] as number;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) break;
      }
      if (at >= buf.length || buf.length < at + 1 + len) return out;
      const type = (buf[0] as number) >> 4;
      const body = buf.subarray(at + 1, at + 1 + len);
      out.push(type === PUBLISH ? { type, topic: body.subarray(2, 2 + body.readUInt16BE(0)).toString() } : { type });
      buf = buf.subarray(at + 1 + len);
    }
  };
}

interface Stage {
  name: string;
  direction: 'up' | 'down';
  matches(p: Packet, node: string): boolean;
  /** Reached by a reconnect (connect, birth, subscribe) rather than by a batch. */
  onReconnect: boolean;
}

const STAGES: Stage[] = [
  { name: 'CONNECT', direction: 'up', matches: (p) => p.type === CONNECT, onReconnect: true },
  { name: 'CONNACK', direction: 'down', matches: (p) => p.type === CONNACK, onReconnect: true },
  {
    name: 'birth publish',
    direction: 'up',
    matches: (p, n) => p.type === PUBLISH && p.topic === topics.status(n),
    onReconnect: true,
  },
  { name: 'SUBSCRIBE', direction: 'up', matches: (p) => p.type === SUBSCRIBE, onReconnect: true },
  { name: 'SUBACK', direction: 'down', matches: (p) => p.type === SUBACK, onReconnect: true },
  {
    name: 'batch publish',
    direction: 'up',
    matches: (p, n) => p.type === PUBLISH && p.topic === topics.batch(n),
    onReconnect: false,
  },
  { name: 'PUBACK', direction: 'down', matches: (p) => p.type === PUBACK, onReconnect: false },
  {
    name: "ingester's ack",
    direction: 'down',
    matches: (p, n) => p.type === PUBLISH && p.topic === topics.ack(n),
    onReconnect: false,
  },
];

// Deadlines are 20 s (a 4x slowdown and more on a loaded machine); a case takes about a second.
describe.runIf(haveMosquitto())(
  'uplink: a cut at every stage of connect, subscribe, publish and ack',
  { timeout: 90_000 },
  () => {
    // One broker and one stand-in ingester for all cases; each case has its own node, proxy and outbox.
    let broker: Mosquitto;
    let acker: Acker;
    beforeAll(async () => {
      broker = await startMosquitto();
      acker = await startAcker(broker.url);
    });
    afterAll(async () => {
      await acker?.close();
      await broker?.stop();
    });

    const storedOf = (node: string): Batch[] => acker.stored.filter((b) => b.node === node);

    // `drop`: the packet is lost with the connection; `after`: it gets through, and the connection
    // dies right behind it (the peer acts on it while its side of the link is already gone).
    for (const stage of STAGES)
      for (const mode of ['drop', 'after'] as const)
        for (const downMs of [0, 700])
          it(`publishes again after a cut ${mode === 'drop' ? 'at' : 'right after'} the ${stage.name}${downMs > 0 ? `, the link back ${downMs} ms later` : ''}`, async () => {
            const node = `cut-${stage.name.replace(/\W+/g, '-')}-${mode}-${downMs}`;
            let armed = false;
            let dropped = 0;
            const readers = new Map<string, (chunk: Buffer) => Packet[]>();
            // The inspector runs on traffic only, once `proxy` is set.
            const proxy: FaultProxy = await startFaultProxy(
              { port: broker.port },
              {
                inspect: (direction, chunk, connection) => {
                  const key = `${connection}/${direction}`;
                  const read = readers.get(key) ?? packetReader();
                  readers.set(key, read);
                  const hit = read(chunk).some((p) => direction === stage.direction && stage.matches(p, node));
                  if (!armed || !hit) return 'forward';
                  armed = false;
                  const cut = () => {
                    dropped++;
                    if (downMs === 0 && mode === 'drop') return;
                    proxy.cut();
                    setTimeout(() => proxy.resume(), downMs);
                  };
                  if (mode === 'after') {
                    setImmediate(cut);
                    return 'forward';
                  }
                  cut();
                  return 'drop';
                },
              },
            );
            const dir = await tempDir('et-cut-stages-');
            const uplink: Uplink = await openTestUplink({ dir, url: proxy.url, node });
            onTestFinished(async () => {
              await uplink.close();
              await proxy.close();
              await rm(dir, { recursive: true, force: true });
            });
            const describeNode = () =>
              `${JSON.stringify({ ...uplink.stats(), outbox: undefined, references: undefined })}; ${acker.describe()}`;

            // Connected, with one batch through end to end.
            await uplink.submit(testBatch(node, 0), 0);
            await waitFor(
              () => `the first batch (${describeNode()})`,
              () => uplink.stats().queueBatches === 0,
              {
                timeoutMs: 20_000,
              },
            );

            armed = true;
            if (stage.onReconnect) {
              // A plain cut, link back at once: the reconnect meets the armed stage.
              proxy.cut();
              proxy.resume();
            } else await uplink.submit(testBatch(node, 1), 0);
            await waitFor(
              () => `the cut at the ${stage.name} (${describeNode()})`,
              () => dropped === 1,
              {
                timeoutMs: 20_000,
              },
            );

            const after = await uplink.submit(testBatch(node, 2), 0);
            await waitFor(
              () => `a batch stored and the outbox empty after the cut (${describeNode()})`,
              () => storedOf(node).some((b) => b.seq === after.seq) && uplink.stats().queueBatches === 0,
              { timeoutMs: 20_000 },
            );
            expect(uplink.stats().connected).toBe(true);
            expect(
              storedOf(node)
                .map((b) => b.windowStart)
                .sort(),
            ).toEqual(stage.onReconnect ? [0, 2] : [0, 1, 2]);
          });
  },
);
