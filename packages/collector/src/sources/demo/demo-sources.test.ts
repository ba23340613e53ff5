import { describe, expect, it } from 'vitest';
import type { ContainerEvent } from '@edge-telemetry/protocol';
import type { RawLogLine } from '../types.js';
import { demoFleet } from './fleet-profile.js';
import { createDemoMetricSource } from './demo-metric-source.js';
import { createDemoLogSource, demoLogLine } from './demo-log-source.js';
import { loadDemoSeries } from './load-series.js';
import { createPrng } from './prng.js';
import { corpusPicker, readCorpusLines } from './corpus-lines.js';
import { waitFor } from '../../../../../test/support/wait.js';
import { loghubCorpus } from '../../../../../test/support/loghub.js';

const { root: loghub, present: haveLoghub } = loghubCorpus();

describe('demo sources', () => {
  it('builds the same fleet for the same node and different fleets for different nodes', () => {
    expect(demoFleet('gw-1', 12)).toEqual(demoFleet('gw-1', 12));
    expect(demoFleet('gw-1', 12).map((c) => c.info.id)).not.toEqual(demoFleet('gw-2', 12).map((c) => c.info.id));
    expect(new Set(demoFleet('gw-1', 25).map((c) => c.info.name)).size).toBe(25);
  });

  it('scrapes gauges and monotone counters that reset only on a reported restart', async () => {
    const containers = demoFleet('gw-1', 5);
    const events: ContainerEvent[] = [];
    const src = createDemoMetricSource({
      node: 'gw-1',
      containers,
      series: await loadDemoSeries(),
      scrapeIntervalMs: 10_000,
      restartProbability: 0.02,
      onEvent: (e) => events.push(e),
    });
    const rx = new Map<string, number>();
    let resets = 0;
    for (let i = 0; i < 300; i++) {
      const r = await src.scrape(i * 10_000);
      expect(r.containers).toHaveLength(5);
      for (const s of r.samples) {
        expect(Number.isFinite(s.value)).toBe(true);
        if (s.metric === 'cpu.usage_pct') expect(s.value).toBeGreaterThanOrEqual(0);
        if (s.metric !== 'net.rx_bytes') continue;
        const prev = rx.get(s.container);
        if (prev !== undefined && s.value < prev) resets++;
        rx.set(s.container, s.value);
      }
    }
    const restarts = events.filter((e) => e.kind === 'restart').length;
    expect(restarts).toBeGreaterThan(0);
    expect(resets).toBeLessThanOrEqual(restarts);
  });

  it('emits log lines at roughly the configured rates with the stated level mix', async () => {
    const rnd = createPrng(7);
    const levels = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const { level } = demoLogLine(rnd);
      levels.set(level, (levels.get(level) ?? 0) + 1);
    }
    expect((levels.get('INFO') ?? 0) / 20_000).toBeCloseTo(0.7, 1);
    expect((levels.get('ERROR') ?? 0) / 20_000).toBeCloseTo(0.08, 1);

    let t = 0;
    const containers = demoFleet('gw-1', 3);
    const src = createDemoLogSource({ node: 'gw-1', containers, tickMs: 5, now: () => (t += 1000) });
    const lines: RawLogLine[] = [];
    src.start({ push: (l) => void lines.push(l), ready: () => undefined });
    await new Promise((r) => setTimeout(r, 200));
    await src.stop();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => containers.some((c) => c.info.name === l.container) && l.rawBytes > l.line.length)).toBe(
      true,
    );
  });

  it('makes up for a late tick only up to maxCatchUpMs', async () => {
    // Every clock read is an hour later: unbounded, each tick would owe an hour of lines.
    let t = 0;
    const containers = demoFleet('gw-1', 3).map((c) => ({ ...c, logRate: 10 }));
    const src = createDemoLogSource({ node: 'gw-1', containers, tickMs: 5, now: () => (t += 3_600_000) });
    const lines: RawLogLine[] = [];
    src.start({ push: (l) => void lines.push(l), ready: () => undefined });
    await waitFor('three ticks', () => new Set(lines.map((l) => l.ts)).size >= 3, { timeoutMs: 30_000 });
    await src.stop();
    const perTick = new Map<number, number>();
    for (const l of lines) perTick.set(l.ts, (perTick.get(l.ts) ?? 0) + 1);
    // 3 containers x 10 lines/s x 2 s (the default bound), where an hour would owe 108,000.
    for (const n of perTick.values()) expect(n).toBeLessThanOrEqual(60);
  });

  // Skipped only in a user's clone without ../shared/corpora; CI always has it.
  it.skipIf(!haveLoghub)(
    'draws corpus lines with their levels, one dataset per container, through the log source',
    async () => {
      const datasets = await readCorpusLines(loghub);
      expect(datasets?.map((d) => d.name)).toEqual([
        'Android',
        'Apache',
        'BGL',
        'HDFS',
        'HPC',
        'Hadoop',
        'OpenSSH',
        'Spark',
        'Windows',
        'Zookeeper',
      ]);
      const hdfs = datasets?.find((d) => d.name === 'HDFS');
      expect(hdfs?.lines).toHaveLength(2000);
      expect(hdfs?.lines[0]).toEqual({
        level: 'INFO',
        text: 'PacketResponder 1 for block blk_38865049064139660 terminating',
      });
      // Apache's syslog "error" and OpenSSH's missing Level column both become level words.
      expect(new Set(datasets?.find((d) => d.name === 'Apache')?.lines.map((l) => l.level))).toEqual(
        new Set(['INFO', 'ERROR']),
      );
      expect(new Set(datasets?.find((d) => d.name === 'OpenSSH')?.lines.map((l) => l.level))).toEqual(
        new Set(['INFO']),
      );

      const pick = corpusPicker(datasets ?? []);
      const rnd = createPrng(3);
      const texts = (id: string) => new Set(Array.from({ length: 50 }, () => pick(id, rnd).text));
      const owner = (text: string) => datasets?.find((d) => d.lines.some((l) => l.text === text))?.name;
      // A container keeps to one dataset.
      expect(new Set([...texts('c0ffee01')].map(owner)).size).toBe(1);

      let t = 0;
      const containers = demoFleet('gw-1', 4);
      const src = createDemoLogSource({ node: 'gw-1', containers, tickMs: 5, now: () => (t += 1000), pick });
      const lines: RawLogLine[] = [];
      src.start({ push: (l) => void lines.push(l), ready: () => undefined });
      await new Promise((r) => setTimeout(r, 100));
      await src.stop();
      const all = new Set(datasets?.flatMap((d) => d.lines.map((l) => `${l.level} ${l.text}`)));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(all.has(l.line.slice(l.line.indexOf(' ') + 1))).toBe(true);
    },
  );
});
