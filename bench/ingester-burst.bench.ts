/**
 * ingester.burst_batches_per_s (issue 21): how fast one ingester process drains a burst, the shape
 * that sets the fleet's p99 (every node sealing a window at once). N nodes (ET_BENCH_BURST_NODES,
 * default 1,000) of the thin profile each publish one batch at the same moment, compressed against
 * the keyframe each sent and had acknowledged before (as a collector's steady state is), to one
 * ingester bin on Mosquitto writing to ClickHouse over HTTP (the test server, as in the fleet
 * benches); timed from the first publish to the last ack seen by a watcher. Several rounds after
 * an unmeasured one (the code paths compiled, as in a fleet's steady state), the median; beside it
 * the CPU per batch of the ingester, the broker and the engine over the same bursts.
 *
 * Baseline, same run, same broker and publishers: the same payloads to a plain mqtt.js subscriber
 * (QoS 1, nothing done with them), timed to its last receipt: what the broker and an MQTT client
 * take for the burst alone, so the ratio is the share of that rate the ingester keeps.
 */
import os from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { createBatchCodec, topics, type Batch } from '@edge-telemetry/protocol';
import { sampleBatch } from '../test/support/batches.js';
import { startIngesterFleet } from '../test/support/ingester-fleet.js';
import { waitFor } from '../test/support/wait.js';
import { median, type BenchCase, type Figure } from './harness.js';
import { cpuSeconds, writeSyscalls } from './support/proc.js';

const NODES = Number(process.env.ET_BENCH_BURST_NODES ?? 1000);
/** Publishing connections, each for NODES / PUBLISHERS nodes (a thousand sockets would measure the publishers). */
const PUBLISHERS = 10;
const ROUNDS = 3;

/** A thin gateway's window: 2 containers, 6 metrics each, 40 log lines, its templates. */
const windowOf = (node: string, seq: number, now: number): Batch =>
  sampleBatch({ node, seq, now, containers: 2, metricsPerContainer: 6, logs: 40 });

/** Publishes `frames[i]` on `topic(i)` from the publishers, all at once; resolves when the broker has them all. */
async function publishAll(pubs: MqttClient[], frames: Buffer[], topic: (i: number) => string): Promise<void> {
  await Promise.all(frames.map((f, i) => pubs[i % pubs.length]!.publishAsync(topic(i), f, { qos: 1 })));
}

export const benches: BenchCase[] = [
  {
    name: 'ingester.burst_batches_per_s',
    async run(): Promise<Figure[]> {
      const fleet = await startIngesterFleet({ ingesters: 1 });
      const pubs = await Promise.all(
        Array.from({ length: PUBLISHERS }, (_, i) =>
          mqtt.connectAsync(fleet.broker.url, { clientId: `burst-pub-${i}`, protocolVersion: 5 }),
        ),
      );
      const sink = await mqtt.connectAsync(fleet.broker.url, { clientId: 'burst-sink', protocolVersion: 5 });
      try {
        const codec = createBatchCodec();
        const nodes = Array.from({ length: NODES }, (_, i) => `burst-${String(i).padStart(4, '0')}`);
        const now = Date.now();
        // Each node's keyframe, acknowledged before the bursts (the ingester holds its body).
        const keyframes = nodes.map((n) =>
          codec.reencode(codec.encode(windowOf(n, 1, now)), { epoch: 1, seq: 1, references: [], keyframe: true }),
        );
        const bodies = keyframes.map((k) => {
          if (!k.ok) throw new Error(k.error.detail);
          return k.value.body;
        });
        await publishAll(
          pubs,
          keyframes.map((k) => (k.ok ? k.value.frame : Buffer.alloc(0))),
          (i) => topics.batch(nodes[i]!),
        );
        const acked = (seq: number) => nodes.filter((n) => fleet.ackedAt.has(`${n}/1/${seq}`)).length;
        await waitFor('the keyframes acknowledged', () => acked(1) === NODES, { timeoutMs: 600_000 });

        let got = 0;
        sink.on('message', () => got++);
        await sink.subscribeAsync('burst/+', { qos: 1 });
        // CPU of the ingester, Mosquitto and the engine over each burst: steadier than the drain
        // time on a machine shared with other work.
        const pids = [fleet.ingesters[0]!.proc!.child.pid!, fleet.broker.pid!, fleet.server.pid];
        const flushes = async () =>
          Number(
            /^et_ingester_inserts_total (\d+)/m.exec(
              await (await fetch(`${fleet.ingesters[0]!.api}/metrics`)).text(),
            )?.[1],
          );
        /** One burst of window `seq`: the baseline's, then the ingester's, in the same minute. */
        const burst = async (seq: number) => {
          const frames = nodes.map((n, i) => {
            const f = codec.reencode(codec.encode(windowOf(n, seq, now + seq * 60_000)), {
              epoch: 1,
              seq,
              references: [{ seq: 1, body: bodies[i]! }],
              keyframe: false,
            });
            if (!f.ok) throw new Error(f.error.detail);
            return f.value.frame;
          });
          got = 0;
          let t0 = Date.now();
          await publishAll(pubs, frames, (i) => `burst/${i}`);
          await waitFor('the sink to receive the burst', () => got === NODES, { timeoutMs: 600_000, intervalMs: 5 });
          const brokerMs = Date.now() - t0;
          const cpu0 = await Promise.all(pids.map(cpuSeconds));
          const writes0 = await writeSyscalls(pids[0]!);
          const flushes0 = await flushes();
          const engine0 = await fleet.engineStats();
          t0 = Date.now();
          await publishAll(pubs, frames, (i) => topics.batch(nodes[i]!));
          await waitFor('the burst acknowledged', () => acked(seq) === NODES, { timeoutMs: 600_000, intervalMs: 5 });
          const cpu1 = await Promise.all(pids.map(cpuSeconds));
          const writes1 = await writeSyscalls(pids[0]!);
          const engine1 = await fleet.engineStats();
          const perBatch = (k: number) => ((cpu1[k]! - cpu0[k]!) / NODES) * 1000;
          return {
            // The last ack's sighting, not the poll's.
            ingesterMs: Math.max(...nodes.map((n) => fleet.ackedAt.get(`${n}/1/${seq}`)!)) - t0,
            brokerMs,
            ingesterCpu: perBatch(0),
            brokerCpu: perBatch(1),
            engineCpu: perBatch(2),
            writes: (writes1 - writes0) / NODES,
            flushes: (await flushes()) - flushes0,
            statements: engine1.statements - engine0.statements,
            inserts: engine1.inserts - engine0.inserts,
            frameBytes: frames[0]!.length,
          };
        };
        // A first burst unmeasured: the ingester's code paths compiled, as in a fleet's steady state.
        await burst(2);
        const runs: Awaited<ReturnType<typeof burst>>[] = [];
        for (let r = 0; r < ROUNDS; r++) runs.push(await burst(r + 3));
        const all = <K extends keyof (typeof runs)[0]>(k: K, digits = 0) =>
          runs.map((x) => x[k].toFixed(digits)).join(' / ');
        const med = (k: keyof (typeof runs)[0]) => median(runs.map((x) => x[k]));
        const value = (NODES / med('ingesterMs')) * 1000;
        const baseline = (NODES / med('brokerMs')) * 1000;
        const cpu = (k: 'ingesterCpu' | 'brokerCpu' | 'engineCpu') => `${med(k).toFixed(2)} (${all(k, 2)})`;
        const load = os.loadavg()[0]?.toFixed(1);
        return [
          {
            name: 'ingester.burst_batches_per_s',
            value,
            unit: 'batches/s',
            baseline,
            ratio: value / baseline,
            note: `${NODES} thin gateways (2 containers, 12 metrics, 40 log lines; ${runs[0]!.frameBytes} B a frame, against its node's acknowledged keyframe) publish one batch each at once over ${PUBLISHERS} connections to one ingester process (Mosquitto; ClickHouse over HTTP, the test server); from the first publish to the last ack's sighting at the broker, median of ${ROUNDS} bursts after one unmeasured: ${all('ingesterMs')} ms, in ${all('flushes')} flushes (${all('statements')} statements, of them ${all('inserts')} inserts); baseline: the same payloads to a plain QoS 1 subscriber of the same broker, ${all('brokerMs')} ms; load average ${load} on 2 cores shared with other work`,
          },
          {
            name: 'ingester.burst_cpu_ms_per_batch',
            value: med('ingesterCpu'),
            unit: 'CPU ms/batch',
            baseline: med('brokerCpu'),
            ratio: med('ingesterCpu') / med('brokerCpu'),
            note: `the ingester process's CPU time (user and system, /proc) over each burst of ingester.burst_batches_per_s, per batch, median (each burst): ${cpu('ingesterCpu')}; its write system calls per batch (MQTT and HTTP) ${all('writes', 2)}; baseline: Mosquitto's over the same bursts (each batch in, its ack out), ${cpu('brokerCpu')}`,
          },
          {
            name: 'ingester.burst_engine_cpu_ms_per_batch',
            value: med('engineCpu'),
            unit: 'CPU ms/batch',
            baseline: med('ingesterCpu'),
            ratio: med('engineCpu') / med('ingesterCpu'),
            note: `the engine's (the test server's process: chdb behind a Node HTTP shim, a session per statement) CPU over the same bursts, per batch: ${cpu('engineCpu')}; its statements are a flush's (a claims insert and read, a data insert per table, the ledger), so it falls as flushes grow; baseline ingester.burst_cpu_ms_per_batch`,
          },
        ];
      } finally {
        await Promise.all([...pubs, sink].map((c) => c.endAsync(true)));
        await fleet.close();
      }
    },
  },
];
