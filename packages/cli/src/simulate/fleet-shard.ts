/**
 * The simulated nodes of one thread: each a real collector built by buildCollector with its own
 * node id, data folder and MQTT session, sharing what the thread can share (batch codec, demo
 * series, corpus lines). Cuts links at the configured rate through each node's outage gate.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  buildCollector,
  corpusPicker,
  createPrng,
  seedFrom,
  type CorpusDataset,
  type DemoSeries,
  type Logger,
  type RunningCollector,
} from '@edge-telemetry/collector';
import { createBatchCodec } from '@edge-telemetry/protocol';
import { openDeliveryLog } from './delivery-log.js';
import { nodeFigures, type NodeFigures } from './figures.js';
import { nodeConfig, nodeId } from './node-config.js';
import type { SimulateOptions } from './options.js';
import { openOutageGate, type OutageGate } from './outage-gate.js';
import { plannedCuts } from './outage-plan.js';
import { sampledProcessProbe } from './sampled-probe.js';

export interface ShardInput {
  options: SimulateOptions;
  /** Node indexes (0-based) this shard runs. */
  from: number;
  to: number;
  series: DemoSeries;
  corpus: CorpusDataset[] | undefined;
  /** Broker password by node id (simulate/credentials.ts); empty: the nodes connect without one. */
  credentials: Record<string, string>;
}

export interface Shard {
  figures(): NodeFigures[];
  /**
   * This thread's event-loop delay (p99 and max, ms) since the last call: the simulator's own
   * shortfall. Above a second, the nodes' 1 s log ticks are late and its load is less than asked.
   */
  loopDelay(): LoopDelay;
  /** Seals each node's open window, waits briefly for acks, then stops every node. */
  stop(): Promise<NodeFigures[]>;
}

export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

interface SimNode {
  node: string;
  running: RunningCollector;
  gate: OutageGate | undefined;
  cuts: number;
}

const OUTAGE_STEP_MS = 1000;
const START_CONCURRENCY = 16;
const PROBE_PERIOD_MS = 1000;
/** After the last window is sealed, acks are awaited while they keep coming, this long at most. */
const ACK_WAIT_MS = 15_000;

export async function startShard(input: ShardInput, log: Logger): Promise<Shard> {
  const o = input.options;
  const probe = sampledProcessProbe(PROBE_PERIOD_MS);
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const loopDelay = (): LoopDelay => {
    const d = { p99Ms: Math.round(delay.percentile(99) / 1e6), maxMs: Math.round(delay.max / 1e6) };
    delay.reset();
    return d;
  };
  // zstd 3 rather than 19 against the keyframes: the wire stays v2 with references (what the ingester
  // sees is the same kind of frame), while a thousand nodes' re-encodes fit two cores.
  const deliveries = o.deliveriesFile === undefined ? undefined : openDeliveryLog(o.deliveriesFile, log);
  const shared = {
    ...(deliveries ? { onDelivered: deliveries.add } : {}),
    codec: createBatchCodec({ referenceLevel: 3 }),
    demoSeries: input.series,
    demoLogPick: input.corpus ? corpusPicker(input.corpus) : undefined,
    processProbe: probe,
  };
  const openNode = async (i: number): Promise<SimNode> => {
    const node = nodeId(o.prefix, i, o.nodes);
    const gate = o.outageRate > 0 ? await openOutageGate(o.broker) : undefined;
    const config = nodeConfig(o, node, gate?.url ?? o.broker, input.credentials[node]);
    const running = await buildCollector(config, log, shared);
    return { node, gate, cuts: 0, running };
  };
  const nodes: SimNode[] = [];
  // Opening an outbox is mostly waiting on the disk: a few nodes at a time overlap those waits.
  // Every node is opened before any runs: an open takes many loop turns, and with the opened nodes
  // already collecting, each turn on a thread short of CPU lasted as long as their work (1,000
  // nodes stalled opening at 640 at load 40; see the README's sizing notes).
  for (let i = input.from; i < input.to; i += START_CONCURRENCY) {
    const group = await Promise.allSettled(
      Array.from({ length: Math.min(START_CONCURRENCY, input.to - i) }, (_, k) => openNode(i + k)),
    );
    for (const g of group) if (g.status === 'fulfilled') nodes.push(g.value);
    const failed = group.find((g) => g.status === 'rejected');
    if (failed) {
      await Promise.all(nodes.map((n) => n.running.stop().then(() => n.gate?.close())));
      await deliveries?.close();
      probe.close();
      delay.disable();
      throw failed.reason;
    }
  }
  for (const n of nodes) await n.running.collector.start();

  const rnd = createPrng(seedFrom(`${o.prefix}/outages/${input.from}`));
  const outageTimer =
    o.outageRate > 0
      ? setInterval(() => {
          const now = Date.now();
          for (const cut of plannedCuts(
            nodes.map((n) => n.gate?.down ?? true),
            o.outageRate,
            o.outageMs,
            OUTAGE_STEP_MS,
            rnd,
          )) {
            const n = nodes[cut.index] as SimNode;
            n.cuts++;
            n.gate?.cut(now + cut.lengthMs);
          }
        }, OUTAGE_STEP_MS)
      : undefined;

  const figures = () => {
    const now = Date.now();
    return nodes.map((n) =>
      nodeFigures(
        n.node,
        n.running.uplink.stats(),
        n.cuts,
        { down: n.gate?.down ?? false, connections: n.gate?.connections() ?? [] },
        now,
      ),
    );
  };

  return {
    figures,
    loopDelay,
    async stop() {
      clearInterval(outageTimer);
      await Promise.all(
        nodes.map((n) => n.running.stop({ seal: true, ackWaitMs: ACK_WAIT_MS }).then(() => n.gate?.close())),
      );
      await deliveries?.close();
      probe.close();
      delay.disable();
      return figures();
    },
  };
}
