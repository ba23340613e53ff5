import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogLevel, type LogLevelValue } from '@edge-telemetry/protocol';
import { createPrng } from '@edge-telemetry/collector';
import { parseCsv } from '../../packages/collector/src/transforms/templates/csv.js';
import { statsToSamples } from '../../packages/collector/src/sources/docker/stats.js';
import {
  levelOfWord,
  pairLevels,
  readLoghubLines,
  splitLines,
  type LoghubLines,
} from '../../bench/support/loghub-lines.js';
import {
  dockerJsonFileLine,
  nextStatsDoc,
  workload,
  workloadContainers,
  type LineStep,
  type StatsDoc,
  type WorkloadOptions,
  type WorkloadStep,
} from '../../bench/support/workload.js';

const corpora = new URL('../../../shared/corpora', import.meta.url).pathname;
const present = existsSync(path.join(corpora, 'loghub2k'));
if (!present && process.env.CI === 'true') throw new Error(`corpora missing at ${corpora} (required in CI)`);

const levels = (s: string): LogLevelValue[] =>
  [...s].map((c) => ({ i: LogLevel.info, w: LogLevel.warn, e: LogLevel.error })[c] as LogLevelValue);
const dataset = (name: string, mix: string): LoghubLines => ({
  name,
  lines: [...mix].map((c, i) => `${name} line ${i} ${c}`),
  levels: levels(mix),
});
const SMALL: WorkloadOptions = {
  containers: 4,
  scrapeIntervalMs: 10_000,
  windowMs: 60_000,
  linesPerSecond: 2,
  durationMs: 120_000,
  startMs: Date.UTC(2026, 0, 1),
};
const BODY: StatsDoc = {
  read: '',
  cpu_stats: { cpu_usage: { total_usage: 1000 }, system_cpu_usage: 2000, online_cpus: 2 },
  memory_stats: { usage: 1_000_000 },
};

function steps(o: WorkloadOptions, sets: LoghubLines[]): WorkloadStep[] {
  const random = createPrng(1);
  return [...workload(o, workloadContainers(o.containers, sets, random), [BODY], random)];
}

describe('workload', () => {
  const sets = [dataset('A', 'iiiw'), dataset('B', 'ie')];
  const all = steps(SMALL, sets);
  const lines = all.filter((s): s is LineStep => s.kind === 'line');

  it('emits lines at the configured rate, a scrape of every container per tick and a seal per window, in time order', () => {
    expect(lines).toHaveLength((SMALL.linesPerSecond * SMALL.durationMs) / 1000);
    const scrapes = all.filter((s) => s.kind === 'scrape');
    expect(scrapes).toHaveLength(SMALL.durationMs / SMALL.scrapeIntervalMs);
    for (const s of scrapes) if (s.kind === 'scrape') expect(s.docs).toHaveLength(SMALL.containers);
    expect(
      all
        .filter((s) => s.kind === 'seal')
        .map((s) => (s.kind === 'seal' ? [s.windowStart - SMALL.startMs, s.windowEnd - SMALL.startMs] : [])),
    ).toEqual([
      [0, 60_000],
      [60_000, 120_000],
    ]);
    const times = all.map((s) => (s.kind === 'seal' ? s.windowEnd : s.ts));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('gives each container one dataset, cycled in order, so that each keeps its dataset level mix', () => {
    for (const name of ['a-1', 'b-1', 'a-2', 'b-2']) {
      const mine = lines.filter((l) => l.container === name);
      const set = name.startsWith('a') ? (sets[0] as LoghubLines) : (sets[1] as LoghubLines);
      // 240 lines over 4 containers: 60 each, whole cycles of both datasets (4 and 2 lines).
      expect(mine).toHaveLength(60);
      const count = (ls: readonly LogLevelValue[], l: LogLevelValue) => ls.filter((x) => x === l).length;
      for (const l of [LogLevel.info, LogLevel.warn, LogLevel.error] as LogLevelValue[]) {
        expect(
          count(
            mine.map((m) => m.level),
            l,
          ) / mine.length,
        ).toBe(count(set.levels, l) / set.levels.length);
      }
      for (const m of mine) expect(set.lines[set.levels.indexOf(m.level)]?.startsWith(set.name)).toBe(true);
    }
    // Replicas start at different points of their dataset.
    expect(lines.find((l) => l.container === 'a-1')?.line).not.toBe(lines.find((l) => l.container === 'a-2')?.line);
  });

  it('writes warn and above to stderr, and each line as the json-file driver does', () => {
    for (const l of lines) {
      expect(l.stream).toBe(l.level >= LogLevel.warn ? 'stderr' : 'stdout');
      expect(l.jsonFile.endsWith('\n')).toBe(true);
      const parsed = JSON.parse(l.jsonFile) as { log: string; stream: string; time: string };
      expect(parsed).toEqual({
        log: `${l.line}\n`,
        stream: l.stream,
        time: new Date(l.ts).toISOString().replace('Z', '000000Z'),
      });
    }
    expect(dockerJsonFileLine('a "q"', 'stdout', 0)).toBe(
      '{"log":"a \\"q\\"\\n","stream":"stdout","time":"1970-01-01T00:00:00.000000000Z"}\n',
    );
  });

  it('rejects a window that is not a multiple of the scrape interval', () => {
    expect(() => steps({ ...SMALL, windowMs: 25_000 }, sets)).toThrow(/multiple|divide/);
  });
});

describe('loghub lines', () => {
  it('maps every Level word of the datasets, and refuses an unknown one', () => {
    expect(
      ['I', 'D', 'V', 'W', 'E', 'notice', 'error', 'INFO', 'FATAL', 'SEVERE', 'WARNING', 'Info', 'WARN', 'ERROR'].map(
        levelOfWord,
      ),
    ).toEqual([2, 1, 0, 3, 4, 2, 4, 2, 5, 4, 3, 2, 3, 4]);
    expect(() => levelOfWord('loud')).toThrow(/unknown level/);
  });

  it('pairs lines with structured rows in order, info where there is no Level column', () => {
    expect(splitLines('a\r\nb\r\nc')).toEqual(['a', 'b', 'c']);
    expect(
      pairLevels(
        'X',
        ['a', 'b'],
        [
          ['LineId', 'Level', 'Content'],
          ['1', 'WARN', 'a'],
          ['2', 'INFO', 'b'],
        ],
      ).levels,
    ).toEqual([LogLevel.warn, LogLevel.info]);
    expect(
      pairLevels(
        'Y',
        ['a'],
        [
          ['LineId', 'Content'],
          ['1', 'a'],
        ],
      ).levels,
    ).toEqual([LogLevel.info]);
    expect(() =>
      pairLevels(
        'Z',
        ['a', 'b'],
        [
          ['LineId', 'Level'],
          ['1', 'INFO'],
        ],
      ),
    ).toThrow(/2 lines but 1/);
  });

  describe.skipIf(!present)('on the Loghub-2k corpus', () => {
    it('reads the ten datasets, each line paired with its own row (Apache names its level in the line)', async () => {
      const sets = await readLoghubLines(path.join(corpora, 'loghub2k'), parseCsv);
      expect(sets.map((s) => s.name)).toEqual([
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
      for (const s of sets) expect(s.lines).toHaveLength(2000);
      const apache = sets[1] as LoghubLines;
      apache.lines.forEach((line, i) =>
        expect(apache.levels[i]).toBe(line.includes('] [error] ') ? LogLevel.error : LogLevel.info),
      );
      const hdfs = sets[3] as LoghubLines;
      hdfs.lines.forEach((line, i) =>
        expect(hdfs.levels[i]).toBe(/^\d+ \d+ \d+ WARN /.test(line) ? LogLevel.warn : LogLevel.info),
      );
    });
  });
});

describe.skipIf(!present)('stats documents', () => {
  const dir = path.join(corpora, 'docker/stats');
  const bodies = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as StatsDoc);

  it('keep each real body shape and advance as a running daemon would, read by the collector as such', () => {
    for (const body of bodies) {
      const random = createPrng(3);
      let doc = body;
      let prev: ReturnType<typeof statsToSamples>['cpu'];
      const seen: Array<Record<string, number>> = [];
      for (let k = 1; k <= 4; k++) {
        doc = nextStatsDoc(doc, body, Date.UTC(2026, 0, 1) + k * 10_000, 10_000, 0.25, random);
        expect(Object.keys(doc).sort()).toEqual(Object.keys(body).sort());
        const r = statsToSamples('c', doc, prev, k);
        prev = r.cpu;
        seen.push(Object.fromEntries(r.samples.map((s) => [s.metric, s.value])));
      }
      for (const [i, s] of seen.entries()) {
        // 25% of the container's CPUs, as docker stats reports it (percent of one CPU x online CPUs).
        const cpus = ((body.cpu_stats as Record<string, unknown>).online_cpus as number) || 1;
        expect(s['cpu.usage_pct']).toBeCloseTo(25 * cpus, 0);
        if (i > 0) expect(s['net.rx_bytes']).toBeGreaterThanOrEqual(seen[i - 1]?.['net.rx_bytes'] as number);
      }
    }
  });
});
