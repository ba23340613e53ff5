import type {
  Batch,
  ContainerEvent,
  LogLevelValue,
  MetricSummary,
  SpanKindValue,
  SpanStatusValue,
  SpanSummary,
} from '../types/batch.js';
import { limits } from '../limits.js';
import { CONTAINER_EVENT_KINDS } from '../validate/batch.js';
import { DDSketch } from '../sketch/ddsketch.js';
import { intIn, pick, type Rng } from './prng.js';

/**
 * A valid batch with random shape and content for property-style tests: random section sizes
 * (often empty), unicode and empty strings, integers and floats of every magnitude the protocol
 * allows, optional sketches.
 */
export function randomBatch(rng: Rng): Batch {
  const str = (): string => randomString(rng);
  const ts = (): number =>
    rng() < 0.05 ? pick(rng, [0, limits.maxTimestampMs]) : 1_700_000_000_000 + intIn(rng, -1e9, 1e9);
  const uint = (): number =>
    rng() < 0.1 ? pick(rng, [0, 1, 127, 128, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) : intIn(rng, 0, 100_000);
  const map = (): Record<string, string> => {
    const m: Record<string, string> = {};
    for (let i = intIn(rng, 0, 3); i > 0; i--) m[str()] = str();
    return m;
  };
  const sizes = (): number => (rng() < 0.3 ? 0 : intIn(rng, 1, 12));
  const windowStart = ts();
  const windowEnd = Math.min(limits.maxTimestampMs, windowStart + intIn(rng, 0, 300_000));
  const metrics: MetricSummary[] = Array.from({ length: sizes() }, () => {
    const start = ts();
    const m: MetricSummary = {
      container: str(),
      metric: str(),
      start,
      end: Math.min(limits.maxTimestampMs, start + intIn(rng, 0, 60_000)),
      count: uint(),
      sum: randomNumber(rng),
      min: randomNumber(rng),
      max: randomNumber(rng),
      last: randomNumber(rng),
      gaps: uint(),
      resets: uint(),
    };
    if (rng() < 0.5) {
      const s = new DDSketch();
      // Extreme values spread a sketch over thousands of bins: keep them to one sketch in ten.
      const extreme = rng() < 0.1;
      for (let i = intIn(rng, 0, 50); i > 0; i--) s.add(extreme ? randomNumber(rng) : (rng() - 0.3) * 1000);
      m.sketch = s.toData();
    }
    return m;
  });
  const batch: Batch = {
    node: `node-${intIn(rng, 0, 999)}`,
    epoch: uint(),
    seq: uint(),
    sentAt: ts(),
    windowStart,
    windowEnd,
    containers: Array.from({ length: sizes() }, () => ({
      id: str(),
      name: str(),
      image: str(),
      state: str(),
      labels: map(),
    })),
    metrics,
    logs: Array.from({ length: sizes() }, () => ({
      ts: ts(),
      container: str(),
      level: intIn(rng, 0, 5) as LogLevelValue,
      message: str(),
      stream: rng() < 0.5 ? ('stdout' as const) : ('stderr' as const),
      repeat: intIn(rng, 1, 1000),
      templateId: str(),
      fields: map(),
    })),
    templates: Array.from({ length: sizes() }, () => ({
      container: str(),
      id: str(),
      template: str(),
      level: intIn(rng, 0, 5) as LogLevelValue,
      count: uint(),
      firstSeen: ts(),
      lastSeen: ts(),
      samples: Array.from({ length: intIn(rng, 0, 3) }, () => ({
        ts: ts(),
        params: Array.from({ length: intIn(rng, 0, 3) }, str),
      })),
    })),
    events: Array.from({ length: sizes() }, (): ContainerEvent => ({
      ts: ts(),
      container: str(),
      kind: pick(rng, CONTAINER_EVENT_KINDS),
      attrs: map(),
    })),
    drops: Array.from({ length: sizes() }, () => ({ stage: str(), reason: str(), container: str(), count: uint() })),
    health: {
      uplinkBytes: uint(),
      rawBytes: uint(),
      queueBatches: uint(),
      queueBytes: uint(),
      budgetLeftBytes: rng() < 0.3 ? -1 : Math.min(uint(), Number.MAX_SAFE_INTEGER - 1),
      degradeLevel: intIn(rng, 0, 4),
      cpuPct: Math.abs(randomNumber(rng)),
      rssBytes: uint(),
      agentVersion: str(),
    },
  };
  // Drawn last, so the sections above are what the same seed gave before attributes and spans existed.
  for (const m of metrics) if (rng() < 0.3) m.attrs = { ...map(), [`k${intIn(rng, 0, 9)}`]: str() };
  if (rng() < 0.5) batch.spans = Array.from({ length: intIn(rng, 1, 8) }, () => randomSpan(rng));
  return batch;
}

function randomSpan(rng: Rng): SpanSummary {
  const start = 1_700_000_000_000 + intIn(rng, -1e9, 1e9);
  const min = rng() * 100;
  const max = min + rng() * 10_000;
  const x: SpanSummary = {
    container: randomString(rng),
    service: randomString(rng),
    operation: randomString(rng),
    kind: intIn(rng, 0, 5) as SpanKindValue,
    status: intIn(rng, 0, 2) as SpanStatusValue,
    start,
    end: start + intIn(rng, 0, 60_000),
    count: intIn(rng, 0, 100_000),
    sum: max * 3,
    min,
    max,
    errors: Array.from({ length: intIn(rng, 0, limits.maxSpanErrors) }, () => randomString(rng)),
    traceIds: Array.from({ length: intIn(rng, 0, limits.maxSpanExemplars) }, () =>
      Array.from({ length: 32 }, () => '0123456789abcdef'[intIn(rng, 0, 15)]).join(''),
    ),
  };
  if (rng() < 0.7) {
    const s = new DDSketch();
    for (let i = intIn(rng, 1, 30); i > 0; i--) s.add(min + rng() * (max - min));
    x.sketch = s.toData();
  }
  return x;
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz0123456789-_./ ',
  'äöüßéèçñ',
  'ключ',
  '日本語のログ',
  '😀🚀✓',
  '\u0000\t\n"\\',
];

export function randomString(rng: Rng): string {
  const n = rng() < 0.1 ? 0 : intIn(rng, 1, 24);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rng, [...pick(rng, ALPHABETS)]);
  return s;
}

/** Finite numbers across the float64 range, with integers, tiny and huge values and -0. */
export function randomNumber(rng: Rng): number {
  const r = rng();
  if (r < 0.3) return intIn(rng, -1000, 100_000);
  if (r < 0.6) return (rng() - 0.3) * 1000;
  if (r < 0.7)
    return pick(rng, [
      0,
      -0,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      2 ** 50,
      2 ** 50 + 1,
      2 ** 53,
      -(2 ** 60),
      1e-300,
    ]);
  return (rng() < 0.5 ? -1 : 1) * Math.exp((rng() - 0.5) * 200);
}
