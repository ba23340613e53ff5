/**
 * What one client can make the SHIPPED Mosquitto hold (docker/mosquitto/mosquitto.conf; compose
 * gives the broker 512 MiB, and the whole fleet loses its broker when it is killed). An outside
 * trial on Mosquitto 2.0.11 found two ways past that limit, each now answered by the config:
 *
 * - Before any password: three TLS connections, each announcing a 200 MB CONNECT, took the broker
 *   to 593 MB. `message_size_limit` is checked once a whole PUBLISH has been read; `max_packet_size`
 *   cuts any packet at its fixed header.
 * - An ingester stops reading when its writer is full (by design: consumption stops at the
 *   socket). One node publishing 1 MiB batches meanwhile took the broker to 1.4 GB in 10 s: the
 *   queue per client was bounded by count alone (10,000 messages). `max_queued_bytes` drops what
 *   goes beyond it; a dropped batch is never acknowledged, so its node sends it again.
 *
 * The broker's own memory is read from /proc (peak since `clear_refs`), as in packet-size.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { limits, topics } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait.js';
import { processMemory } from './brokers.js';
import { connect, remainingLength, startShippedBroker, type ShippedBroker } from './shipped-broker.js';

const MiB = 1024 * 1024;
/** More than the queue may hold, and far more than a broker that kept them all could hide. */
const FLOOD = 400;

describe.runIf(haveMosquitto())('shipped Mosquitto: what one client can make it hold', () => {
  let b: ShippedBroker;
  const open: MqttClient[] = [];
  const pid = () => b.broker.pid!;
  /** Resets the broker's peak RSS and returns its RSS now. */
  const resetPeak = async () => {
    await writeFile(`/proc/${pid()}/clear_refs`, '5');
    return processMemory(pid(), 'VmRSS');
  };

  beforeAll(async () => {
    b = await startShippedBroker(['gw-flood', 'gw-calm'], { shippedQueueLimits: true });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('cuts a connection that announces a 200 MB CONNECT at its header, before any password', async () => {
    const before = await resetPeak();
    const size = 200_000_000;
    const { port } = new URL(b.tlsUrl);
    const s = tls.connect({ port: Number(port), host: '127.0.0.1', ca: b.ca, servername: 'localhost' });
    const r = await new Promise<{ written: number; closed: boolean }>((resolve) => {
      const chunk = Buffer.alloc(MiB, 7);
      let written = 0;
      let closed = false;
      s.on('error', () => undefined);
      s.once('close', () => {
        closed = true;
        resolve({ written, closed });
      });
      s.once('secureConnect', () => {
        s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(size)]));
        const pump = () => {
          // All but the last megabyte: a broker that buffers the packet holds it, waiting for the rest.
          while (!closed && written + chunk.length < size) {
            written += chunk.length;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
          if (!closed) resolve({ written, closed });
        };
        pump();
      });
    });
    const peak = await processMemory(pid(), 'VmHWM');
    s.destroy();
    process.stdout.write(
      `200 MB CONNECT: ${(r.written / MiB).toFixed(0)} MiB written, closed by the broker: ${r.closed}; broker RSS ${(before / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB\n`,
    );
    expect(r.closed).toBe(true);
    expect(peak - before).toBeLessThan(64 * MiB);
  }, 120_000);

  it('holds a bounded queue for an ingester that stops reading while a node floods, and drops the rest', async () => {
    const ing = await connect(b.internalUrl, { ...b.ingester, clientId: 'ing-stalled', protocolVersion: 5 });
    open.push(ing);
    // As the ingester does when its writer is full: the next packet is read only once this one is done.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const got = { flood: 0, calm: 0 };
    ing.handleMessage = (packet, done) => {
      if (packet.topic === topics.batch('gw-flood')) got.flood++;
      if (packet.topic === topics.batch('gw-calm')) got.calm++;
      void released.then(() => done());
    };
    await ing.subscribeAsync(topics.ingestFilter('ingest'), { qos: 1 });

    const before = await resetPeak();
    const flood = await connect(b.tlsUrl, { ca: b.ca, ...b.nodes['gw-flood'], clientId: 'gw-flood' });
    open.push(flood);
    const batch = Buffer.alloc(limits.maxBatchWireBytes, 5);
    for (let i = 0; i < FLOOD; i++) await flood.publishAsync(topics.batch('gw-flood'), batch, { qos: 1 });
    const peak = await processMemory(pid(), 'VmHWM');

    // Reading again, the ingester gets what was kept for it, then another node's next batch.
    release();
    const calm = await connect(b.tlsUrl, { ca: b.ca, ...b.nodes['gw-calm'], clientId: 'gw-calm' });
    open.push(calm);
    await waitFor(
      () => `gw-calm's batch after the flood (got ${JSON.stringify(got)})`,
      async () => {
        // Published again at each probe: one sent while the queue was still full was dropped.
        await calm.publishAsync(topics.batch('gw-calm'), 'calm', { qos: 1 });
        return got.calm > 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    process.stdout.write(
      `${FLOOD} x 1 MiB at a stalled ingester: broker RSS ${(before / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB; ${got.flood} delivered once it read again\n`,
    );
    expect(got.flood).toBeLessThan(FLOOD / 2);
    expect(peak - before).toBeLessThan(256 * MiB);
  }, 180_000);
});
