import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { limits, validateBatch, type MetricSummary } from '@edge-telemetry/protocol';
import { BACKLOG_SEAL_EVERY_MS, createCollector } from './collector.js';
import { DropCounter } from './batch/drops.js';
import type { BatchDraft } from './batch/priority-classes.js';
import type { PriorityClassValue } from './batch/priority-classes.js';
import { demoFleet } from './sources/demo/fleet-profile.js';
import { createDemoMetricSource } from './sources/demo/demo-metric-source.js';
import { loadDemoSeries } from './sources/demo/load-series.js';
import { createDemoLogSource } from './sources/demo/demo-log-source.js';
import type { LogSink, LogSource, MetricSource } from './sources/types.js';
import { Downsampler } from './transforms/downsample/downsampler.js';
import { TierRoller } from './transforms/downsample/tiers.js';
import { ddSketchOps } from './transforms/downsample/ddsketch-ops.js';
import { LogPipeline } from './transforms/logs/pipeline.js';
import { SpanSummarizer } from './transforms/spans/span-summarizer.js';
import { Mailbox } from './runtime/mailbox.js';
import type { ContainerEvent } from '@edge-telemetry/protocol';
import { logPipelineOptions } from './transforms/logs/options.js';

const WINDOW = 200;
const TIER = 400;

/** The runtime with real stages and a recording uplink whose degrade level the test sets. */
async function harness(
  extraSources: MetricSource[] = [],
  spans?: SpanSummarizer,
  o: { windowMs?: number; logSources?: LogSource[]; sealDelayMs?: number } = {},
) {
  const windowMs = o.windowMs ?? WINDOW;
  const tierMs = 2 * windowMs;
  const sent: Array<{ cls: PriorityClassValue; draft: BatchDraft }> = [];
  const drops = new DropCounter();
  const state = { level: 0 };
  const warnings: string[] = [];
  const fleet = demoFleet('t', 2);
  const events = new Mailbox<ContainerEvent>();
  const collector = createCollector({
    node: 't',
    agentVersion: 'test',
    scrapeIntervalMs: 50,
    windowMs,
    sealDelayMs: o.sealDelayMs,
    metricSources: [
      createDemoMetricSource({ node: 't', containers: fleet, series: await loadDemoSeries(), scrapeIntervalMs: 50 }),
      ...extraSources,
    ],
    logSources: o.logSources ?? [
      createDemoLogSource({ node: 't', containers: fleet.map((c) => ({ ...c, logRate: 200 })), tickMs: 20 }),
    ],
    events,
    containers: new Map(),
    downsampler: new Downsampler({ windowMs, tiersMs: [tierMs] }, { sketches: ddSketchOps, report: drops }),
    tiers: { tierMs, roller: new TierRoller([tierMs], ddSketchOps) },
    logs: new LogPipeline(logPipelineOptions({}), { now: Date.now, report: drops, windowMs }),
    spans,
    uplink: {
      submitGroup: async (items) => {
        for (const { draft, priorityClass } of items) sent.push({ cls: priorityClass, draft });
      },
      cursor: () => undefined,
      saveCursor: async () => undefined,
      takeHealth: () => ({
        uplinkBytes: 0,
        queueBatches: 0,
        queueBytes: 0,
        budgetLeftBytes: -1,
        degradeLevel: state.level,
      }),
    },
    drops,
    process: { cpuPct: () => 0, rssBytes: () => 0 },
    now: Date.now,
    log: {
      info: () => {},
      warn: (msg: string, fields?: object) => warnings.push(`${msg} ${JSON.stringify(fields)}`),
      error: () => {},
    },
  });
  return { collector, sent, state, events, warnings };
}

const cpuWindows = (sent: Array<{ draft: BatchDraft }>): MetricSummary[] =>
  sent.flatMap((s) => s.draft.metrics).filter((m) => m.container === 'plc-bridge' && m.metric === 'cpu.usage_pct');

/** The runtime's timers and clock, driven by the test: windows of 200 ms must not slip on a loaded machine. */
const wait = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/**
 * Runs the harness with `source` for three windows; the class-0 drafts that `has` picks must be at
 * least two, each one the codec carries.
 */
async function summariesWith(source: MetricSource, has: (d: BatchDraft) => boolean, spans?: SpanSummarizer) {
  const { collector, sent, warnings } = await harness([source], spans);
  await collector.start();
  await wait(3 * WINDOW);
  await collector.stop();
  const summaries = sent.filter((s) => s.cls === 0 && has(s.draft));
  expect(summaries.length).toBeGreaterThanOrEqual(2);
  for (const { draft } of summaries) {
    const check = validateBatch({ ...draft, epoch: 1, seq: 1 });
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
  }
  return { sent, summaries, warnings };
}

describe('collector runtime', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // The fake clock starts at the real time, anywhere in a window: one run in 200 (seen once in 8)
    // stopped the mid-window cases exactly on a window's end, where no partial window is left to seal.
    vi.setSystemTime(Date.UTC(2026, 0, 1) + 37);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends fine windows, then one coarse window per tier period while degraded, never both for a period', async () => {
    const { collector, sent, state } = await harness();
    await collector.start();
    await wait(5 * TIER);
    state.level = 2;
    await wait(5 * TIER);
    await collector.stop();

    const windows = cpuWindows(sent).sort((a, b) => a.start - b.start);
    expect(windows.some((w) => w.end - w.start === WINDOW)).toBe(true);
    expect(windows.some((w) => w.end - w.start === TIER)).toBe(true);
    const spans = windows.map((w) => `${w.start % 100_000}-${w.end % 100_000}`).join(' ');
    for (let i = 1; i < windows.length; i++)
      expect(windows[i]!.start, spans).toBeGreaterThanOrEqual(windows[i - 1]!.end);
    // Every coarse window is aligned to its tier and holds every scrape of its period.
    for (const w of windows.filter((x) => x.end - x.start === TIER)) {
      expect(w.start % TIER).toBe(0);
      expect(w.count).toBeGreaterThanOrEqual(TIER / 50 - 2);
    }
  });

  it('withholds the least valuable classes under degradation and counts what it withheld', async () => {
    const { collector, sent, state, events } = await harness();
    state.level = 3;
    events.post({ ts: Date.now(), container: 'plc-bridge', kind: 'oom', attrs: {} });
    await collector.start();
    await wait(3 * WINDOW + 150);
    await collector.stop();
    expect(sent.every((s) => s.cls <= 1)).toBe(true);
    expect(sent.some((s) => s.draft.events.some((e) => e.kind === 'oom'))).toBe(true);
    expect(sent.filter((s) => s.cls === 0).length).toBeGreaterThanOrEqual(2);
    const withheld = sent.flatMap((s) => s.draft.drops).filter((d) => d.stage === 'uplink.degrade');
    expect(withheld.map((d) => d.reason).sort()).toContain('info_samples');
    expect(withheld.reduce((n, d) => n + d.count, 0)).toBeGreaterThan(0);
  });

  /**
   * One application's point the protocol cannot carry lost the window's every metric: the codec
   * refused the summaries batch that holds them all (an OTLP bucket count above 2^53, an exponential
   * histogram past float64, gauge values whose sum overflows). The other series still go out.
   */
  it("leaves out, and counts, a metric summary the protocol cannot carry; the window's other metrics go out", async () => {
    const odd: MetricSource = {
      name: 'odd',
      scrape: async (tick) => ({
        containers: [],
        samples: [{ container: 'odd', metric: 'huge', value: 1.7e308, ts: tick, kind: 'gauge' }],
        histograms: [
          {
            container: 'odd',
            metric: 'big_count',
            ts: tick,
            temporality: 'delta',
            histogram: { kind: 'explicit', bounds: [], counts: [2 ** 60], count: 2 ** 60, sum: 1 },
          },
          {
            container: 'odd',
            metric: 'past_float64',
            ts: tick,
            temporality: 'delta',
            histogram: {
              kind: 'exponential',
              scale: 0,
              zeroCount: 0,
              positive: { offset: 5000, counts: [3] },
              negative: { offset: 0, counts: [] },
              count: 3,
            },
          },
        ],
      }),
      close: async () => {},
    };
    const { sent, warnings } = await summariesWith(odd, (d) => d.metrics.length > 0);
    // Once, not at every window the application keeps sending it.
    const told = warnings.filter((w) => w.includes('not_representable'));
    expect(told).toHaveLength(1);
    // Naming the application's container and series, so the operator knows which to fix.
    expect(told[0]).toMatch(/"container":"odd","name":"(huge|big_count|past_float64)"/);
    expect(cpuWindows(sent).length).toBeGreaterThanOrEqual(2);
    expect(sent.flatMap((s) => s.draft.metrics).filter((m) => m.container === 'odd')).toEqual([]);
    const left = sent.flatMap((s) => s.draft.drops).filter((d) => d.stage === 'metrics.summary');
    expect(new Set(left.map((d) => `${d.reason} ${d.container}`))).toEqual(new Set(['not_representable odd']));
    expect(left.reduce((n, d) => n + d.count, 0)).toBeGreaterThanOrEqual(3);
  });

  it("leaves out, and counts, a span summary the protocol cannot carry; the window's metrics and other spans go out", async () => {
    const spans = new SpanSummarizer({}, { sketches: ddSketchOps, report: new DropCounter(), significantDigits: 0 });
    const span = {
      container: 'shop',
      service: 'api',
      kind: 1,
      status: 0,
      durationMs: 5,
      traceId: 'a'.repeat(32),
      error: '',
    } as const;
    spans.add({ ...span, operation: 'GET /orders' });
    // A text the summarizer does not fit (the OTLP resource does): a lone surrogate in the service name.
    spans.add({ ...span, service: 'api-\ud800', operation: 'GET /orders' });
    const quiet: MetricSource = {
      name: 'quiet',
      scrape: async () => ({ samples: [], containers: [] }),
      close: async () => {},
    };
    const { sent } = await summariesWith(quiet, (d) => d.metrics.length > 0, spans);
    expect(cpuWindows(sent).length).toBeGreaterThanOrEqual(2);
    expect(sent.flatMap((s) => s.draft.spans ?? []).map((x) => x.operation)).toEqual(['GET /orders']);
    const left = sent.flatMap((s) => s.draft.drops).filter((d) => d.stage === 'spans.summary');
    expect(left).toEqual([{ stage: 'spans.summary', reason: 'not_representable', container: 'shop', count: 1 }]);
  });

  /**
   * A container's labels ride in every summaries batch (class 0, the heartbeat), and the codec
   * refuses a batch with a map of over 256 entries or a text over 64 KiB: one such container lost
   * the node's heartbeat every window. Labels of that size happen: tooling that labels everything,
   * cri-dockerd copying a pod's annotations (kubectl's last-applied-configuration) into labels.
   */
  it("keeps a container's labels within the protocol: past its map limit and text limit they are cut, counted", async () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 300; i++) labels[`io.example.l${String(i).padStart(3, '0')}`] = 'v';
    labels['annotation.kubectl.kubernetes.io/last-applied-configuration'] = `{"spec":"${'x'.repeat(70_000)}"}`;
    const odd: MetricSource = {
      name: 'odd',
      scrape: async () => ({
        samples: [],
        containers: [{ id: 'c1', name: 'odd', image: 'odd:1', state: 'running', labels: { ...labels } }],
      }),
      close: async () => {},
    };
    const { sent, summaries } = await summariesWith(odd, (d) => d.containers.length > 0);
    const info = summaries.at(-1)?.draft.containers.find((c) => c.name === 'odd');
    expect(Object.keys(info?.labels ?? {})).toHaveLength(limits.maxMapEntries);
    // Kept in key order: the annotation sorts first, cut to fit.
    const applied = info?.labels['annotation.kubectl.kubernetes.io/last-applied-configuration'];
    expect(applied?.startsWith('{"spec":"xxx')).toBe(true);
    expect(Buffer.byteLength(applied ?? '')).toBeLessThanOrEqual(limits.maxStringBytes);
    const cut = sent.flatMap((s) => s.draft.drops).filter((d) => d.stage === 'sources.containers');
    expect(cut.map((d) => [d.reason, d.container])).toContainEqual(['labels_cut', 'odd']);
  });

  it('forgets the containers no source lists any more; a failed scrape keeps what its source listed last', async () => {
    let scrapes = 0;
    const info = (name: string) => ({ id: name, name, image: 'job:1', state: 'running', labels: {} });
    const jobs: MetricSource = {
      name: 'jobs',
      scrape: async () => {
        scrapes++;
        if (scrapes > 3) throw new Error('engine away');
        return { samples: [], containers: scrapes < 3 ? [info('stays'), info('exited')] : [info('stays')] };
      },
      close: async () => {},
    };
    const { collector, sent } = await harness([jobs]);
    await collector.start();
    // Fake timers: time moves only as the test advances it.
    await wait(10 * 50);
    expect(scrapes).toBeGreaterThanOrEqual(6);
    const after = sent.length;
    const heartbeat = () => sent.slice(after).find((s) => s.cls === 0 && s.draft.containers.length > 0);
    await wait(2 * WINDOW);
    await collector.stop();
    const names = heartbeat()?.draft.containers.map((c) => c.name) ?? [];
    expect(names).toContain('stays');
    expect(names).not.toContain('exited');
  });

  it('stop({ seal: true }) seals the partial window after the sources stopped; a plain stop does not', async () => {
    for (const seal of [true, false]) {
      const { collector, sent } = await harness();
      await collector.start();
      await wait(WINDOW / 2);
      const before = Date.now();
      await collector.stop({ seal });
      const partial = sent.filter((s) => s.cls === 0 && s.draft.windowEnd >= before);
      expect(partial.length).toBe(seal ? 1 : 0);
      if (seal) expect(partial[0]!.draft.windowEnd % WINDOW).not.toBe(0);
    }
  });

  it("a stop mid-window gives the partial window's summaries that window's start, not one a window before the stop", async () => {
    const { collector, sent } = await harness();
    await collector.start();
    await wait(2 * WINDOW + WINDOW / 2);
    await collector.stop({ seal: true });
    const last = sent.filter((s) => s.draft.metrics.length > 0).at(-1)!.draft;
    expect(last.windowEnd % WINDOW).not.toBe(0);
    // Before: start = the stop - windowMs, inside the window before, which the ingester's
    // per-minute buckets then counted it in (a restart's last half minute shown a minute early).
    expect(new Set(last.metrics.map((m) => m.start))).toEqual(new Set([last.windowStart]));
    expect(last.windowStart % WINDOW).toBe(0);
  });

  it('goes on sending metrics and logs when the wall clock is stepped back, and every window it sends is valid', async () => {
    const { collector, sent } = await harness();
    await collector.start();
    await wait(3 * WINDOW);
    // NTP sets back a clock that ran ten minutes ahead (more than the lines' future skew allowance,
    // five); the runtime's timers keep their own time.
    vi.setSystemTime(Date.now() - 600_000);
    const stepped = Date.now();
    const before = sent.length;
    await wait(5 * WINDOW);
    const after = sent.slice(before).map((s) => s.draft);
    // Metric windows of the new time, and lines read after the step, were sent within those five windows.
    const newTime = after.filter((d) => d.windowStart < stepped + 5 * WINDOW);
    expect(newTime.some((d) => d.metrics.some((m) => m.container === 'plc-bridge' && m.count > 0))).toBe(true);
    expect(after.some((d) => d.logs.some((l) => l.ts >= stepped))).toBe(true);
    await collector.stop({ seal: true });
    for (const { draft } of sent) expect(draft.windowEnd).toBeGreaterThanOrEqual(draft.windowStart);
  });

  it('sends no batch for each window skipped when the wall clock is stepped forward', async () => {
    const { collector, sent } = await harness();
    await collector.start();
    await wait(3 * WINDOW);
    // A gateway that booted with its clock an hour behind syncs it: 18,000 windows of 200 ms.
    vi.setSystemTime(Date.now() + 3_600_000);
    const stepped = Date.now();
    const before = sent.length;
    await wait(3 * WINDOW);
    await collector.stop({ seal: true });
    const after = sent.slice(before).map((s) => s.draft);
    expect(after.length).toBeLessThan(50);
    // Metrics of the new time were sent.
    const newTime = after.filter((d) => d.windowStart >= stepped - WINDOW);
    expect(newTime.some((d) => d.metrics.some((m) => m.container === 'plc-bridge' && m.count > 0))).toBe(true);
  });

  it('ships the lines of a window whose times the protocol cannot carry at the window, counted; the rest of the window goes out', async () => {
    // Go's zero time (0001-01-01T00:00:00Z, what a runtime writes for a time it never set) and year
    // 9999 are windowed at the node's time, but kept their own: the codec refused the window's
    // WARN+ and templates batches of every container for one such line (`uplink.encode`).
    let sink: LogSink | undefined;
    const source: LogSource = {
      name: 'odd-times',
      replayable: false,
      start: (s) => void (sink = s),
      stop: async () => undefined,
      watermark: () => Date.now(),
      positions: () => [],
      catchUp: async () => undefined,
    };
    const { collector, sent } = await harness([], undefined, { logSources: [source] });
    await collector.start();
    const line = (ts: number, text: string) =>
      sink!.push({ ts, container: 'api', stream: 'stderr', line: `ERROR ${text}`, rawBytes: 20, offset: 0, end: 0 });
    line(Date.now(), 'disk sda failed');
    line(Date.parse('0001-01-01T00:00:00Z'), 'zero time of go');
    line(Date.UTC(9999, 11, 31, 23, 59, 59), 'end of all time');
    // The multi-line joiner holds the last line for a continuation until a line after its flush time.
    await wait(10 * WINDOW);
    line(Date.now(), 'fan stopped');
    await wait(10 * WINDOW);
    await collector.stop();
    const drafts = sent.map((x) => x.draft).filter((d) => d.logs.length + d.templates.length > 0);
    for (const d of drafts) {
      const check = validateBatch({ ...d, epoch: 1, seq: 1 });
      expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    }
    const shipped = drafts.flatMap((d) =>
      d.logs.map((l) => ({ message: l.message, inWindow: l.ts >= d.windowStart && l.ts < d.windowEnd })),
    );
    expect(shipped.map((l) => l.message).sort()).toEqual([
      'ERROR disk sda failed',
      'ERROR end of all time',
      'ERROR fan stopped',
      'ERROR zero time of go',
    ]);
    expect(shipped.every((l) => l.inWindow)).toBe(true);
    const counted = sent.flatMap((x) => x.draft.drops).filter((d) => d.stage === 'logs.time');
    expect(counted.map((d) => [d.reason, d.container])).toContainEqual(['not_representable', 'api']);
    // The two lines, and the templates they were counted in.
    expect(
      counted.filter((d) => d.reason === 'not_representable').reduce((n, d) => n + d.count, 0),
    ).toBeGreaterThanOrEqual(3);
  });

  it("seals a backlog's last chunk within BACKLOG_SEAL_EVERY_MS when a seal tick started after the trailing seal was armed", async () => {
    // A file read to its end rests: the reader's ready() after its last chunk is the last call. A
    // tick that sealed between the arming and the timer did not see that chunk, so the timer must
    // still seal (it skipped, and the chunk waited a whole window for the next tick).
    const W = 60_000;
    let sink: LogSink | undefined;
    /** The runtime time every line is read up to: the last line's, and the read's own at the file's end. */
    let readUpTo = 0;
    let atEnd = false;
    const source: LogSource = {
      name: 'backlog',
      replayable: false,
      start: (s) => void (sink = s),
      stop: async () => undefined,
      watermark: () => (atEnd ? Date.now() : readUpTo),
      positions: () => [],
      catchUp: async () => undefined,
    };
    const { collector, sent } = await harness([], undefined, { windowMs: W, logSources: [source] });
    const lateness = logPipelineOptions({}).window.latenessMs;
    // The next tick (a window's end plus the lateness bound; this node has no offset) is 1.5 s away.
    const tick = Math.ceil((Date.now() - lateness) / W) * W + W + lateness;
    vi.setSystemTime(tick - 1500);
    const old = Math.floor(Date.now() / W) * W - 4 * W;
    const read = (i: number) => {
      readUpTo = old + i * W + 1;
      sink!.push({
        ts: old + i * W,
        container: 'api',
        stream: 'stdout',
        line: `ERROR backlog line ${i}`,
        rawBytes: 30,
        offset: 0,
        end: 0,
      });
      return sink!.ready();
    };
    const shipped = () => sent.flatMap((s) => s.draft.logs).filter((l) => l.container === 'api').length;
    await collector.start();
    await sink!.ready(); // the first cursor
    await wait(BACKLOG_SEAL_EVERY_MS);
    await read(0); // tick - 500: a seal (a second since the last)
    await wait(300);
    void read(1); // tick - 200: too soon to seal; the trailing seal is armed for tick + 500
    await wait(400); // the tick seals up to line 1's time: line 0's window
    atEnd = true;
    void read(2); // tick + 200, the last chunk: no other call comes
    await wait(BACKLOG_SEAL_EVERY_MS);
    const shippedBy = shipped();
    await collector.stop();
    expect(shippedBy).toBe(3);
  });

  it("seals a live window once, with its metrics, at the node's offset, though the reader calls ready() past its end", async () => {
    // A file being written to: the reader reads each line as it comes and calls ready() after each
    // read; its read time is the clock's. Those calls may seal only windows of the ticks before.
    const W = 2000;
    const offset = 500;
    let sink: LogSink | undefined;
    let reader: NodeJS.Timeout | undefined;
    const source: LogSource = {
      name: 'live',
      replayable: false,
      start: (s) => {
        sink = s;
        reader = setInterval(() => {
          sink!.push({
            ts: Date.now(),
            container: 'api',
            stream: 'stdout',
            line: 'ERROR live',
            rawBytes: 30,
            offset: 0,
            end: 0,
          });
          void sink!.ready();
        }, 100);
      },
      stop: async () => clearInterval(reader),
      watermark: () => Date.now(),
      positions: () => [],
      catchUp: async () => undefined,
    };
    const { collector, sent } = await harness([], undefined, {
      windowMs: W,
      logSources: [source],
      sealDelayMs: offset,
    });
    const lateness = logPipelineOptions({}).window.latenessMs;
    const first = Math.floor(Date.now() / W) * W + W;
    await collector.start();
    await wait(first + 4 * W + W - Date.now());
    await collector.stop();
    for (let start = first; start < first + 3 * W; start += W) {
      const mine = sent.filter((s) => s.draft.windowStart === start && s.draft.windowEnd === start + W);
      const lateBy = [...new Set(mine.map((s) => s.draft.sentAt - start - W))];
      // Before: a seal at the end + the lateness bound + the reader's next call, the metrics a second one.
      expect(lateBy).toEqual([Math.min(lateness, W / 2) + offset]);
      expect(mine.some((s) => s.draft.logs.some((l) => l.container === 'api'))).toBe(true);
      expect(mine.some((s) => s.draft.metrics.some((m) => m.container === 'plc-bridge'))).toBe(true);
    }
  });
});
