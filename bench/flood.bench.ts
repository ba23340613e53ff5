/**
 * ingester.flood_ack_p99_ms_*: issue 16's "a flooding node does not slow the others", as a
 * latency ratio measured where latency is measured (it was a bound in test/security/flood.test.ts,
 * where a loaded machine moved it from about 1.0 to 2.07 and 3.99). Set-up from
 * test/security/flood-rig.ts: 20 normal nodes publish a batch each 250 ms for 8 rounds while one
 * node sends 10,000 statuses and 10,000 garbage batches at QoS 0 as fast as it can (in its own
 * process at nice 19); the ingester on embedded ClickHouse, per broker (the embedded one of
 * `start`, and the shipped Mosquitto configuration when Mosquitto is installed).
 *
 * Figure: the normal nodes' ack p99 during the flood. Baseline in the same run: the larger ack p99
 * of the same traffic without the flood, just before and just after it (the load of a shared
 * machine drifts). Target: ratio <= 2.
 */
import type { BenchCase, Figure } from './harness.js';
import { haveMosquitto } from '../test/support/mosquitto.js';
import { embeddedBroker, shippedMosquitto, type BrokerUnderTest } from '../test/security/broker/brokers.js';
import { FLOODER, p99, startFloodRig } from '../test/security/flood-rig.js';

async function measure(name: string, start: (ids: string[]) => Promise<BrokerUnderTest>): Promise<Figure> {
  const rig = await startFloodRig(start);
  try {
    // A first round warms the engine and the caches; it is not measured.
    await rig.normalTraffic(1);
    const before = p99(await rig.normalTraffic(50));
    const flooded = p99((await Promise.all([rig.normalTraffic(100), rig.flood()]))[0]);
    const after = p99(await rig.normalTraffic(150));
    const base = Math.max(before, after);
    const dropped =
      rig.ingester
        .stats()
        .quotas.drops()
        .find((d) => d.node === FLOODER)?.messages ?? 0;
    return {
      name: `ingester.flood_ack_p99_ms_${name}`,
      value: flooded,
      unit: 'ms',
      baseline: base,
      ratio: flooded / base,
      note: `${name} broker, 20 nodes x 8 batches at 250 ms while one node floods 10,000 statuses + 10,000 garbage batches (QoS 0, nice 19); baseline the larger ack p99 of the same traffic just before (${before.toFixed(0)} ms) and after (${after.toFixed(0)} ms); ${dropped} flood messages dropped by the quota; target ratio <= 2`,
    };
  } finally {
    await rig.close();
  }
}

export const benches: BenchCase[] = [
  {
    name: 'ingester.flood',
    run: async () => {
      const figures = [await measure('embedded', embeddedBroker)];
      if (haveMosquitto()) figures.push(await measure('mosquitto', shippedMosquitto));
      return figures;
    },
  },
];
