/**
 * Two ingesters on one MQTT shared subscription (real Mosquitto), sharing the process's one
 * embedded ClickHouse: the load is split, and when one is killed mid-stream the other carries
 * on; the node resends what was not acknowledged (as its outbox does) and nothing is lost or
 * stored twice.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, decodeAck, topics, type Batch } from '@edge-telemetry/protocol';
import { haveMosquitto } from '../../../test/support/mosquitto.js';
import { sampleBatch } from '../../../test/support/batches.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import type { Ingester } from './ingester.js';
import { TABLES } from './storage/tables.js';

describe.runIf(haveMosquitto())('two ingesters on a shared subscription', () => {
  let stack: Stack;
  let a: Ingester;
  let b: Ingester;
  let node: MqttClient;

  const options = (clientId: string) => ({
    mqtt: { clientId, sharedGroup: 'ingest', protocolVersion: 5 },
    writer: { flushIntervalMs: 30 },
  });

  beforeAll(async () => {
    stack = await startStack({ ingester: options('ingester-a') });
    a = stack.ingester;
    b = (await stack.addIngester(options('ingester-b'))).ingester;
    node = await mqtt.connectAsync(stack.broker.url, { clientId: 'scale-nodes', protocolVersion: 5 });
  });
  afterAll(async () => {
    await node?.endAsync();
    await stack?.close();
  });

  it('splits the load, survives one ingester being killed, and stores every batch exactly once', async () => {
    const codec = createBatchCodec();
    const nodes = ['s-1', 's-2', 's-3', 's-4'];
    const batches: Batch[] = nodes.flatMap((n) =>
      Array.from({ length: 15 }, (_, i) => sampleBatch({ node: n, seq: i + 1, containers: 2, logs: 2 })),
    );
    const unacked = new Map(batches.map((x) => [`${x.node}/${x.seq}`, x]));
    node.on('message', (_t, payload) => {
      const ack = decodeAck(payload);
      if (ack.ok) for (const s of ack.value.seqs) unacked.delete(`${ack.value.node}/${s}`);
    });
    for (const n of nodes) await node.subscribeAsync(topics.ack(n), { qos: 1 });

    const half = batches.length / 2;
    for (const x of batches.slice(0, half)) await node.publishAsync(topics.batch(x.node), codec.encode(x), { qos: 1 });
    await waitFor('acks of the first half', () => unacked.size <= batches.length - half);
    const split = [a.stats().writer.batchesStored, b.stats().writer.batchesStored];
    expect(split[0]).toBeGreaterThan(0);
    expect(split[1]).toBeGreaterThan(0);

    // Kill a abruptly while the second half is in flight.
    const rest = batches.slice(half);
    const sending = (async () => {
      for (const x of rest) await node.publishAsync(topics.batch(x.node), codec.encode(x), { qos: 1 });
    })();
    await a.kill();
    await sending;

    // The node's outbox resends whatever stays unacknowledged.
    await waitFor(
      () => `acks of ${[...unacked.keys()].join(', ')}`,
      async () => {
        if (unacked.size === 0) return true;
        for (const x of unacked.values()) await node.publishAsync(topics.batch(x.node), codec.encode(x), { qos: 1 });
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect([...unacked.keys()]).toEqual([]);

    const count = async (q: string) =>
      Number((await (await stack.clickhouse.query({ query: q, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n);
    expect(await count(`SELECT count() AS n FROM ${TABLES.ledger} WHERE NodeName LIKE 's-%'`)).toBe(batches.length);
    expect(
      await count(
        `SELECT count() AS n FROM (SELECT DISTINCT NodeName, Epoch, Seq FROM ${TABLES.ledger} WHERE NodeName LIKE 's-%')`,
      ),
    ).toBe(batches.length);
    expect(await count(`SELECT count() AS n FROM ${TABLES.metrics} WHERE NodeName LIKE 's-%'`)).toBe(
      batches.reduce((n, x) => n + x.metrics.length, 0),
    );
  });
});
