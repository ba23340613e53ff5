/** Realistic batches for tests and benchmarks, timed around `now` so retention TTLs keep them. */
import type { Batch } from '@edge-telemetry/protocol';

export interface SampleBatchOptions {
  node: string;
  epoch?: number;
  seq: number;
  now?: number;
  containers?: number;
  metricsPerContainer?: number;
  logs?: number;
}

const METRICS = [
  'cpu.usage_pct',
  'mem.usage_bytes',
  'net.rx_bytes_per_s',
  'net.tx_bytes_per_s',
  'blk.read_bytes_per_s',
  'blk.write_bytes_per_s',
];

export function sampleBatch(o: SampleBatchOptions): Batch {
  const now = o.now ?? Date.now();
  const windowEnd = Math.floor(now / 60_000) * 60_000;
  const windowStart = windowEnd - 60_000;
  const containers = Array.from({ length: o.containers ?? 3 }, (_, i) => `app-${i}`);
  const metricNames = METRICS.slice(0, o.metricsPerContainer ?? 4);
  return {
    node: o.node,
    epoch: o.epoch ?? 1,
    seq: o.seq,
    sentAt: now,
    windowStart,
    windowEnd,
    containers: containers.map((name, i) => ({
      id: `c${i}`.padEnd(64, '0'),
      name,
      image: `registry.local/${name}:1.0`,
      state: 'running',
      labels: { 'com.docker.compose.service': name },
    })),
    metrics: containers.flatMap((container, ci) =>
      metricNames.map((metric, mi) => {
        const base = 10 * (ci + 1) + mi;
        return {
          container,
          metric,
          start: windowStart,
          end: windowEnd,
          count: 4,
          sum: base * 4 + 6,
          min: base,
          max: base + 3,
          last: base + 2,
          gaps: 0,
          resets: 0,
          // Four samples base..base+3 in DDSketch (1% accuracy) bins: index = ceil(ln v / ln gamma).
          sketch: sketchOf([base, base + 1, base + 2, base + 3]),
        };
      }),
    ),
    logs: Array.from({ length: o.logs ?? 5 }, (_, i) => ({
      ts: windowStart + i * 100,
      container: containers[i % containers.length] as string,
      level: (i % 5 === 4 ? 4 : 2) as 2 | 4,
      message:
        i % 5 === 4
          ? `request ${o.seq}-${i} failed: connection refused`
          : `request ${o.seq}-${i} served in ${i + 3} ms`,
      stream: 'stdout' as const,
      repeat: 1,
      templateId: i % 5 === 4 ? 't-fail' : 't-ok',
      fields: { path: `/api/${i}` },
    })),
    templates: [
      {
        container: containers[0] as string,
        id: 't-ok',
        template: 'request <*> served in <*> ms',
        level: 2,
        count: 4,
        firstSeen: windowStart,
        lastSeen: windowEnd - 1,
        samples: [{ ts: windowStart, params: ['1-0', '3'] }],
      },
    ],
    events: [{ ts: windowStart + 5, container: containers[0] as string, kind: 'start', attrs: { exitCode: '0' } }],
    drops: [{ stage: 'logs.level', reason: 'below_level', container: containers[0] as string, count: 7 }],
    health: {
      uplinkBytes: 2048,
      rawBytes: 40_960,
      queueBatches: 0,
      queueBytes: 0,
      budgetLeftBytes: -1,
      degradeLevel: 0,
      cpuPct: 1.5,
      rssBytes: 80e6,
      agentVersion: '0.1.0',
    },
  };
}

const GAMMA = 1.01 / 0.99;

function sketchOf(values: number[]): {
  zeros: number;
  positive: { offset: number; counts: number[] };
  negative: { offset: number; counts: number[] };
} {
  const idx = values.map((v) => Math.ceil(Math.log(v) / Math.log(GAMMA)));
  const offset = Math.min(...idx);
  const counts = new Array<number>(Math.max(...idx) - offset + 1).fill(0);
  for (const i of idx) counts[i - offset] = (counts[i - offset] ?? 0) + 1;
  return { zeros: 0, positive: { offset, counts }, negative: { offset: 0, counts: [] } };
}
