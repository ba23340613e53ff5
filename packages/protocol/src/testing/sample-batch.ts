import type {
  Batch,
  ContainerInfo,
  LogEvent,
  LogLevelValue,
  LogTemplate,
  MetricSummary,
  NodeHealth,
} from '../types/batch.js';
import { DDSketch } from '../sketch/ddsketch.js';
import { intIn, pick, type Rng } from './prng.js';

export interface SampleBatchShape {
  containers: number;
  metricsPerContainer: number;
  logs: number;
  templates: number;
  /** Scrapes per window behind each metric summary (60 s window, 10 s scrape = 6; sketches get this many values). */
  samplesPerMetric: number;
}

export const REALISTIC_SHAPE: SampleBatchShape = {
  containers: 30,
  metricsPerContainer: 12,
  logs: 100,
  templates: 50,
  samplesPerMetric: 6,
};

/** Real content to draw from: log lines (e.g. Loghub) and metric values (e.g. NAB series). */
export interface SampleSources {
  lines: readonly string[];
  values: readonly number[];
}

const METRICS = [
  'cpu.usage_pct',
  'cpu.throttled_pct',
  'mem.usage_bytes',
  'mem.limit_bytes',
  'mem.rss_bytes',
  'net.rx_bytes_per_s',
  'net.tx_bytes_per_s',
  'net.rx_errors',
  'blkio.read_bytes_per_s',
  'blkio.write_bytes_per_s',
  'pids.current',
  'restarts',
];
const IMAGES = [
  'nginx:1.27',
  'postgres:16',
  'redis:7.2',
  'grafana/grafana:11.1',
  'eclipse-mosquitto:2.0',
  'node:20-alpine',
];
const LEVELS: LogLevelValue[] = [2, 2, 2, 2, 2, 2, 2, 1, 3, 4];

/**
 * A batch shaped like one window of a real gateway: named containers with labels, a dozen metric
 * series each with a DDSketch of the window's samples, log events and templates drawn from real
 * lines, a few events and drops. Used by benches and size comparisons.
 */
export function sampleBatch(
  rng: Rng,
  sources: SampleSources,
  shape: SampleBatchShape = REALISTIC_SHAPE,
  windowStart = 1_764_300_000_000,
): Batch {
  const windowEnd = windowStart + 60_000;
  const containers: ContainerInfo[] = Array.from({ length: shape.containers }, (_, i) => ({
    id: hex(rng, 64),
    name: `svc-${['api', 'db', 'cache', 'mqtt', 'ui', 'worker'][i % 6]}-${i}`,
    image: pick(rng, IMAGES),
    state: 'running',
    labels: {
      'com.docker.compose.project': 'site',
      'com.docker.compose.service': `svc${i}`,
      'org.opencontainers.image.version': '1.4.2',
    },
  }));
  let cursor = intIn(rng, 0, sources.values.length - 1);
  const nextValue = (): number => {
    cursor = (cursor + 1) % sources.values.length;
    return sources.values[cursor] as number;
  };
  const metrics: MetricSummary[] = [];
  for (const c of containers) {
    for (const metric of METRICS.slice(0, shape.metricsPerContainer)) {
      const sketch = new DDSketch();
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let last = 0;
      for (let k = 0; k < shape.samplesPerMetric; k++) {
        const v = metric.endsWith('_bytes') ? Math.round(nextValue() * 1_048_576) : nextValue();
        sketch.add(v);
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
        last = v;
      }
      metrics.push({
        container: c.name,
        metric,
        start: windowStart,
        end: windowEnd,
        count: shape.samplesPerMetric,
        sum,
        min,
        max,
        last,
        gaps: 0,
        resets: 0,
        sketch: sketch.toData(),
      });
    }
  }
  const templates: LogTemplate[] = Array.from({ length: shape.templates }, (_, i) => {
    const line = pick(rng, sources.lines);
    const firstSeen = windowStart + intIn(rng, 0, 30_000);
    return {
      container: pick(rng, containers).name,
      id: hex(rng, 16),
      template: line.replace(/\d+/g, '<*>'),
      level: pick(rng, LEVELS),
      count: intIn(rng, 1, 500),
      firstSeen,
      lastSeen: firstSeen + intIn(rng, 0, 30_000),
      samples: Array.from({ length: Math.min(3, 1 + (i % 3)) }, () => ({
        ts: firstSeen + intIn(rng, 0, 30_000),
        params: (line.match(/\d+/g) ?? []).slice(0, 4),
      })),
    };
  });
  let ts = windowStart;
  const logs: LogEvent[] = Array.from({ length: shape.logs }, () => {
    ts += intIn(rng, 0, 1200);
    const t = pick(rng, templates);
    return {
      ts,
      container: t.container,
      level: t.level,
      message: pick(rng, sources.lines),
      stream: t.level >= 3 ? 'stderr' : 'stdout',
      repeat: 1,
      templateId: t.id,
      fields: {},
    };
  });
  return {
    node: 'gw-0042',
    epoch: 1_764_200_000,
    seq: 1234,
    sentAt: windowEnd + 150,
    windowStart,
    windowEnd,
    containers,
    metrics,
    logs,
    templates,
    events: [
      { ts: windowStart + 1200, container: containers[3]?.name ?? '', kind: 'restart', attrs: { exitCode: '137' } },
      {
        ts: windowStart + 4100,
        container: containers[5]?.name ?? '',
        kind: 'health_status',
        attrs: { status: 'healthy' },
      },
    ],
    drops: [
      { stage: 'logs.level', reason: 'below_level', container: '', count: 812 },
      { stage: 'logs.throttle', reason: 'rate_limited', container: containers[1]?.name ?? '', count: 37 },
    ],
    health: {
      uplinkBytes: 48_213,
      rawBytes: 9_812_400,
      queueBatches: 0,
      queueBytes: 0,
      budgetLeftBytes: 51_200_000,
      degradeLevel: 0,
      cpuPct: 1.7,
      rssBytes: 78_000_000,
      agentVersion: '0.1.0',
    },
  };
}

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rng() * 16)];
  return s;
}

/** A node's health with nothing to report: no bytes, nothing queued, no budget set (-1). */
export function idleHealth(agentVersion = 'test'): NodeHealth {
  return {
    uplinkBytes: 0,
    rawBytes: 0,
    queueBatches: 0,
    queueBytes: 0,
    budgetLeftBytes: -1,
    degradeLevel: 0,
    cpuPct: 0,
    rssBytes: 0,
    agentVersion,
  };
}
