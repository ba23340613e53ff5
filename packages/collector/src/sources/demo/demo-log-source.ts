/**
 * Log lines for demo and simulated gateways, from the project's own templates by default (the
 * Loghub corpora may not be shipped; corpus-lines.ts reads them where they are). The level mix follows what Fluent Bit's comparison file had: INFO 70%,
 * DEBUG 8%, WARN 14%, ERROR 8%. A few lines carry secrets, so that redaction has work to do.
 */
import type { LogSink, LogSource } from '../types.js';
import type { DemoContainer } from './fleet-profile.js';
import { createPrng, seedFrom } from './prng.js';

type Pick = (r: () => number) => string;
const num =
  (max: number): Pick =>
  (r) =>
    String(Math.floor(r() * max));
const ip: Pick = (r) => `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 254) + 1}`;
const hex: Pick = (r) =>
  Math.floor(r() * 2 ** 32)
    .toString(16)
    .padStart(8, '0');

const TEMPLATES: Array<{ weight: number; level: string; parts: Array<string | Pick> }> = [
  { weight: 30, level: 'INFO', parts: ['GET /api/v1/items/', num(5000), ' 200 ', num(80), 'ms from ', ip] },
  { weight: 15, level: 'INFO', parts: ['polled ', num(64), ' registers from device ', num(16), ' in ', num(40), 'ms'] },
  { weight: 10, level: 'INFO', parts: ['frame ', num(1_000_000), ' processed, ', num(12), ' objects detected'] },
  { weight: 8, level: 'INFO', parts: ['flushed ', num(500), ' points to historian segment ', hex] },
  { weight: 5, level: 'INFO', parts: ['session ', hex, ' opened for user operator', num(20), '@plant.example.com'] },
  {
    weight: 2,
    level: 'INFO',
    parts: ['upstream auth ok, Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI', num(99999), 'In0.c2lnbmF0dXJl'],
  },
  { weight: 8, level: 'DEBUG', parts: ['cache hit ratio ', num(100), '% over ', num(10000), ' lookups'] },
  { weight: 8, level: 'WARN', parts: ['device ', num(16), ' response slow: ', num(3000), 'ms (threshold 500ms)'] },
  { weight: 6, level: 'WARN', parts: ['retrying connection to ', ip, ':502 (attempt ', num(5), ')'] },
  { weight: 5, level: 'ERROR', parts: ['failed to write batch ', hex, ': connection reset by peer'] },
  { weight: 3, level: 'ERROR', parts: ['timeout after ', num(30), 's waiting for PLC ', num(8), ' ack'] },
];
const TOTAL = TEMPLATES.reduce((a, t) => a + t.weight, 0);

export interface DemoLogLine {
  /** Upper-case level word, as the line carries it. */
  level: string;
  text: string;
}

export function demoLogLine(r: () => number): DemoLogLine {
  let x = r() * TOTAL;
  for (const t of TEMPLATES) {
    x -= t.weight;
    if (x <= 0) return { level: t.level, text: t.parts.map((p) => (typeof p === 'string' ? p : p(r))).join('') };
  }
  return { level: 'INFO', text: 'idle' };
}

export interface DemoLogSourceOptions {
  node: string;
  containers: DemoContainer[];
  /** How often lines are emitted (ms); each tick emits what the containers' rates owe since the last one. */
  tickMs?: number;
  /**
   * Most time (ms) one late tick makes up for; lines owed beyond it are not made. Default 2000.
   * Unbounded, a process short of CPU never catches up: each late tick owes more lines, which makes
   * the next one later still (1,000 simulated gateways stalled at ~330 started on a loaded machine).
   */
  maxCatchUpMs?: number;
  now?: () => number;
  /** Where a container's next line comes from (e.g. corpusPicker); default: demoLogLine's templates. */
  pick?: (containerId: string, r: () => number) => DemoLogLine;
}

export function createDemoLogSource(opts: DemoLogSourceOptions): LogSource {
  const rnd = createPrng(seedFrom(`${opts.node}/logs`));
  const tickMs = opts.tickMs ?? 1000;
  const maxCatchUpMs = opts.maxCatchUpMs ?? 2000;
  const now = opts.now ?? Date.now;
  const pick = opts.pick ?? ((_id: string, r: () => number) => demoLogLine(r));
  const credit = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  return {
    name: 'demo',
    replayable: false,
    start(sink: LogSink) {
      last = now();
      timer = setInterval(() => {
        const ts = now();
        // Rates follow the clock, not the tick count, so a late tick catches up (up to the bound); a
        // clock stepped back counts as no time, not as a debt of lines to be paid before any more.
        const elapsed = Math.max(0, Math.min(ts - last, maxCatchUpMs));
        last = ts;
        for (const c of opts.containers) {
          let n = (credit.get(c.info.name) ?? 0) + (c.logRate * elapsed) / 1000;
          for (; n >= 1; n--) {
            const { level, text } = pick(c.info.id, rnd);
            const line = `${new Date(ts).toISOString()} ${level} ${text}`;
            sink.push({
              ts,
              container: c.info.name,
              stream: level === 'ERROR' ? 'stderr' : 'stdout',
              line,
              rawBytes: line.length + 60,
              offset: 0,
              end: 0,
            });
          }
          credit.set(c.info.name, n);
        }
      }, tickMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    // Lines are made as they are stamped: every container is always read up to now.
    watermark: (container) => (opts.containers.some((c) => c.info.name === container) ? now() : undefined),
    positions: () => [],
    catchUp: async () => undefined,
  };
}
