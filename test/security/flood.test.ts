/**
 * Issue 16, "a flood test": one node sends 10,000 status messages and 10,000 garbage batches as
 * fast as it can while 20 other nodes publish normally. Every normal batch is still acknowledged,
 * the flooding node's excess is counted, per node, in /metrics and the fleet API, and what was
 * admitted of its statuses is group-committed (before, one insert per status took an unrelated
 * batch's ack from 1.1 s to 17-29 s). The embedded broker reads a client over its publish rate
 * slower; whether this flooder gets over that rate depends on how much CPU a loaded machine leaves
 * it (at load 27 it did not), so that is shown by packages/cli/src/embedded/packet-guard.test.ts
 * and only printed here. How much the flood slows the others (ack p99 against the
 * same traffic without it, 2x allowed) is a latency ratio: it is measured by `npm run bench --
 * ingester.flood` (bench/flood.bench.ts), not asserted here, where a loaded machine moved it from
 * about 1.0 to 2.07 and 3.99 (load 11-13), even with two retries. This test prints it. Run against the
 * shipped Mosquitto configuration (node accounts, the ingester on its own listener) and against
 * the embedded broker; the ingester runs on embedded ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '@edge-telemetry/ingester';
import { haveMosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { embeddedBroker, shippedMosquitto, type BrokerUnderTest } from './broker/brokers.js';
import { FLOOD, FLOODER, TOKEN, p99, startFloodRig, type FloodRig } from './flood-rig.js';

const brokers: [string, (ids: string[]) => Promise<BrokerUnderTest>][] = [['embedded', embeddedBroker]];
if (haveMosquitto()) brokers.push(['mosquitto', shippedMosquitto]);

describe.each(brokers)('a flooding node does not hold up the others (%s broker)', (_name, start) => {
  let rig: FloodRig;

  beforeAll(async () => {
    // The flood's 20,000 messages reach the ingester over however long a loaded machine takes to
    // send them (the flooder runs at nice 19) and T seconds admit burst + rate x T of them. With the
    // defaults (1,000 + 200/s) more than FLOOD were dropped only while T < 45 s; with these, while
    // T < 98 s, and the admitted statuses still outnumber the status inserts (4 a second) tenfold.
    rig = await startFloodRig(start, { messagesPerSecond: 100, messageBurst: 200 });
  }, 120_000);

  afterAll(async () => {
    await rig?.close();
  });

  it(
    'acknowledges every other node\u2019s batch during the flood, counts the excess per node, and group-commits what it admitted',
    { timeout: 300_000 },
    async () => {
      const { ingester, client, api, broker: b } = rig;
      const flooded = (await Promise.all([rig.normalTraffic(1), rig.flood()]))[0];
      // Every batch of the normal nodes was acknowledged (normalTraffic waits for each ack).
      expect(flooded).toHaveLength(20 * 8);
      // The flooder has exited, but what the broker still holds of its flood may still be on its
      // way to the ingester: wait until the counters agree across the stats, /metrics and the fleet
      // API (each read once the others are), instead of comparing a snapshot to a later read.
      const drop = await waitFor(
        'the flooder\u2019s drops, the same in stats, /metrics and the fleet API',
        async () => {
          const d = ingester.stats().quotas.drops();
          expect(d.map((x) => x.node)).toEqual([FLOODER]);
          const metrics = await (await fetch(`${api}/metrics`)).text();
          const fleet = (await (
            await fetch(`${api}/api/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } })
          ).json()) as { quotaDrops: { node: string; messages: number }[] };
          const messages = d[0]!.messages;
          // More than the statuses alone: a count still rising mid-drain is retried, not judged.
          expect(messages).toBeGreaterThan(FLOOD);
          expect(metrics).toMatch(
            new RegExp(`et_ingester_quota_dropped_messages_total\\{node="${FLOODER}"\\} ${messages}\n`),
          );
          expect(fleet.quotaDrops).toEqual([expect.objectContaining({ node: FLOODER, messages })]);
          expect(ingester.stats().quotas.drops()[0]!.messages).toBe(messages);
          return d[0]!;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const stats = ingester.stats();
      process.stdout.write(
        `flood (${_name}): normal nodes' ack p99 ${p99(flooded).toFixed(0)} ms during the flood (a figure, not a bound: see bench/flood.bench.ts); flooder dropped ${drop.messages} messages, received ${stats.consumer.received}${b.embedded ? `; the embedded broker paused reading it ${b.embedded.stats().throttled} times` : ''}\n`,
      );

      // What was admitted cost one status row per insert (latest per node), not one insert per message.
      await ingester.stop();
      const rs = await client.query({
        query: `SELECT count() FROM ${TABLES.status} WHERE NodeName = {node:String}`,
        query_params: { node: FLOODER },
        format: 'JSONCompactEachRow',
      });
      const [[rows] = [0]] = await rs.json<[number | string]>();
      expect(Number(rows)).toBeLessThan(stats.consumer.statuses / 10);
    },
  );
});
