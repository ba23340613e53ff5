import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LogLevel, createBatchCodec, limits, type LogEvent, type LogTemplate } from '@edge-telemetry/protocol';
import { idleHealth } from '@edge-telemetry/protocol/testing';
import { PriorityClass, splitByPriority, type BatchDraft } from './priority-classes.js';

const health = idleHealth('t');
const log = (level: number, message: string): LogEvent => ({
  ts: 1,
  container: 'c',
  level: level as LogEvent['level'],
  message,
  stream: 'stdout',
  repeat: 1,
  templateId: '',
  fields: {},
});
const tpl = (id: string, count: number, samples: number): LogTemplate => ({
  container: 'c',
  id,
  template: `t ${id} <*>`,
  level: LogLevel.info,
  count,
  firstSeen: 1,
  lastSeen: 2,
  samples: Array.from({ length: samples }, (_, i) => ({ ts: i, params: [String(i)] })),
});
const window = (over: Partial<BatchDraft>): BatchDraft => ({
  node: 'n',
  sentAt: 3,
  windowStart: 0,
  windowEnd: 60_000,
  health,
  containers: [],
  metrics: [],
  logs: [],
  templates: [],
  events: [],
  drops: [],
  ...over,
});

describe('splitByPriority', () => {
  it('always sends class 0, the heartbeat, even for an empty window', () => {
    const out = splitByPriority(window({}));
    expect(out.map((b) => b.priorityClass)).toEqual([0]);
    expect(out[0]!.draft.health).toBe(health);
  });

  it("counts the window's uplink and raw bytes once, in the heartbeat: the ingester sums every batch's health", () => {
    const logs = [log(LogLevel.error, 'e'), log(LogLevel.info, 'i')];
    const templates = [tpl('a', 10, 2)];
    const h = { ...health, uplinkBytes: 4096, rawBytes: 100_000, queueBatches: 7, cpuPct: 1.5 };
    const out = splitByPriority(window({ logs, templates, health: h }));
    expect(out.map((b) => b.priorityClass)).toEqual([0, 1, 2, 3]);
    expect(out.reduce((n, b) => n + b.draft.health.uplinkBytes, 0)).toBe(4096);
    expect(out.reduce((n, b) => n + b.draft.health.rawBytes, 0)).toBe(100_000);
    expect(out[0]!.draft.health).toEqual(h);
    // The gauges go with every batch (a batch of any class says how the node is).
    for (const b of out) expect([b.draft.health.queueBatches, b.draft.health.cpuPct]).toEqual([7, 1.5]);
  });

  it('puts every item in exactly one class and keeps template counts whole', () => {
    const logs = [log(LogLevel.error, 'e'), log(LogLevel.info, 'i'), log(LogLevel.warn, 'w'), log(LogLevel.debug, 'd')];
    const templates = [tpl('a', 10, 2), tpl('b', 5, 0)];
    const out = splitByPriority(window({ logs, templates }));
    expect(out.map((b) => b.priorityClass)).toEqual([0, 1, 2, 3]);
    const byClass = new Map(out.map((b) => [b.priorityClass, b.draft]));
    expect(byClass.get(1)!.logs.map((l) => l.message)).toEqual(['e', 'w']);
    expect(byClass.get(3)!.logs.map((l) => l.message)).toEqual(['i', 'd']);
    const allTemplates = out.flatMap((b) => b.draft.templates);
    expect(allTemplates.reduce((n, t) => n + t.count, 0)).toBe(15);
    expect(allTemplates.reduce((n, t) => n + t.samples.length, 0)).toBe(2);
    expect(byClass.get(2)!.templates.every((t) => t.samples.length === 0)).toBe(true);
  });

  it('orders rows so that alike ones sit together: metrics by metric then container, lines by container then time, templates by container then first seen', () => {
    const metric = (container: string, name: string) => ({
      container,
      metric: name,
      start: 0,
      end: 60_000,
      count: 1,
      sum: 1,
      min: 1,
      max: 1,
      last: 1,
      gaps: 0,
      resets: 0,
    });
    const at = (container: string, ts: number, level: number): LogEvent => ({
      ...log(level, `${container}@${ts}`),
      container,
      ts,
    });
    const seen = (container: string, id: string, firstSeen: number): LogTemplate => ({
      ...tpl(id, 1, 1),
      container,
      firstSeen,
    });
    const out = splitByPriority(
      window({
        metrics: [metric('b', 'cpu'), metric('b', 'mem'), metric('a', 'cpu'), metric('a', 'mem')],
        logs: [
          at('b', 1, LogLevel.warn),
          at('a', 2, LogLevel.warn),
          at('b', 3, LogLevel.error),
          at('a', 4, LogLevel.info),
          at('a', 0, LogLevel.info),
        ],
        templates: [seen('b', 'x', 5), seen('a', 'z', 7), seen('a', 'y', 3), seen('a', 'w', 7)],
      }),
    );
    const byClass = new Map(out.map((b) => [b.priorityClass, b.draft]));
    expect(byClass.get(0)!.metrics.map((m) => `${m.metric}/${m.container}`)).toEqual([
      'cpu/a',
      'cpu/b',
      'mem/a',
      'mem/b',
    ]);
    expect(byClass.get(1)!.logs.map((l) => l.message)).toEqual(['a@2', 'b@1', 'b@3']);
    expect(byClass.get(3)!.logs.map((l) => l.message)).toEqual(['a@0', 'a@4']);
    for (const cls of [2, 3] as const)
      expect(byClass.get(cls)!.templates.map((t) => t.id)).toEqual(['y', 'w', 'z', 'x']);
  });
});

/**
 * The codec refuses a frame over the wire or decoded limit, and a seal is one group: the session-10
 * trial's 4,000 ERROR lines of 2 KB in a minute made a 4 MB frame, and the whole seal was lost.
 */
describe('splitByPriority: batches that fit the frame limits', () => {
  // Hex of chained SHA-256 digests: as incompressible as random bytes, and the same every run.
  const noise = (seed: number, bytes: number): string => {
    let out = '';
    let h = String(seed);
    while (out.length < bytes) out += h = createHash('sha256').update(h).digest('hex');
    return out.slice(0, bytes);
  };

  it('splits a class whose rows would not fit one frame into several of that class, every row kept once', () => {
    const codec = createBatchCodec();
    const logs = Array.from({ length: 700 }, (_, i) => log(LogLevel.error, `ERROR ${i} ${noise(i, 2000)}`));
    const info = Array.from({ length: 700 }, (_, i) => log(LogLevel.info, `INFO ${i} ${noise(-i, 2000)}`));
    const templates = Array.from({ length: 1100 }, (_, i) => ({
      ...tpl(`t${i}`, 2, 1),
      template: `t ${noise(i + 0.5, 1000)} <*>`,
      samples: [{ ts: 1, params: [noise(i + 0.25, 1000)] }],
    }));
    const out = splitByPriority(window({ logs: [...logs, ...info], templates }));
    let seq = 0;
    for (const { draft } of out) {
      const frame = codec.encode({ ...draft, epoch: 1, seq: ++seq });
      expect(frame.length).toBeLessThanOrEqual(limits.maxBatchWireBytes);
    }
    const of = (cls: number) => out.filter((b) => b.priorityClass === cls).map((b) => b.draft);
    expect(of(PriorityClass.summaries)).toHaveLength(1);
    expect(of(PriorityClass.warnError).length).toBeGreaterThan(1);
    const messages = (cls: number) => of(cls).flatMap((d) => d.logs.map((l) => l.message));
    expect(new Set(messages(PriorityClass.warnError))).toEqual(new Set(logs.map((l) => l.message)));
    expect(messages(PriorityClass.warnError)).toHaveLength(logs.length);
    expect(messages(PriorityClass.infoSamples)).toHaveLength(info.length);
    const counts = of(PriorityClass.templates).flatMap((d) => d.templates);
    expect(counts.reduce((n, t) => n + t.count, 0)).toBe(2200);
    expect(of(PriorityClass.infoSamples).flatMap((d) => d.templates)).toHaveLength(1100);
    // Each class over the frame limit on its own (up to 1.4 MB of text that does not compress); zstd takes seconds on a loaded machine.
  }, 90_000);

  it('splits the summaries of many labelled series over several heartbeat batches, the first with the rest of the window', () => {
    const codec = createBatchCodec();
    // 10,000 series (downsample.maxSeries' default) of an application's metrics, eight labels of
    // 24 characters each (pod uids, addresses), each with a sketch of a few bins: 1.5 MB on the wire in one batch.
    const metrics = Array.from({ length: 10_000 }, (_, i) => ({
      container: `app-${i % 50}`,
      metric: `http_requests_${i % 40}`,
      start: 0,
      end: 60_000,
      count: 6,
      sum: 6 * i,
      min: i,
      max: i + 5,
      last: i + 1,
      gaps: 0,
      resets: 0,
      sketch: {
        zeros: 0,
        positive: { offset: 300 + (i % 200), counts: [1, 2, 3] },
        negative: { offset: 0, counts: [] },
      },
      attrs: Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`label_${j}`, noise(i * 8 + j, 24)])),
    }));
    const containers = [{ id: 'c1', name: 'app-0', image: 'app:1', state: 'running', labels: {} }];
    const events = [{ ts: 1, container: 'app-0', kind: 'start' as const, attrs: {} }];
    const h = { ...health, uplinkBytes: 10, rawBytes: 20 };
    const out = splitByPriority(window({ metrics, containers, events, health: h }));
    let seq = 0;
    for (const { draft } of out) {
      const frame = codec.encode({ ...draft, epoch: 1, seq: ++seq });
      expect(frame.length).toBeLessThanOrEqual(limits.maxBatchWireBytes);
    }
    expect(out.every((b) => b.priorityClass === PriorityClass.summaries)).toBe(true);
    expect(out.length).toBeGreaterThan(1);
    expect(out.flatMap((b) => b.draft.metrics)).toHaveLength(10_000);
    expect(out.map((b) => [b.draft.containers.length, b.draft.events.length, b.draft.health.uplinkBytes])).toEqual([
      [1, 1, 10],
      ...out.slice(1).map(() => [0, 0, 0]),
    ]);
  }, 90_000);

  it('keeps one batch per class when the rows fit', () => {
    const out = splitByPriority(window({ logs: [log(LogLevel.error, 'e'.repeat(60_000)), log(LogLevel.info, 'i')] }));
    expect(out.map((b) => b.priorityClass)).toEqual([0, 1, 3]);
  });
});
