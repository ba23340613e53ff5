import { LogLevel, type DropCount } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import type { RawLogLine } from '../../sources/types.js';
import { logPipelineOptions } from './options.js';
import { LogPipeline, type LogRecord } from './pipeline.js';

function setup(
  options: unknown = {},
  describeFn?: (c: string) => { name: string; image: string; labels: Record<string, string> },
) {
  let now = 1_000_000;
  const drops: DropCount[] = [];
  const records: LogRecord[] = [];
  const p = new LogPipeline(logPipelineOptions(options), {
    now: () => now,
    // Summed per (stage, reason, container), as the collector's DropCounter does.
    report: {
      drop: (d, count = 1) => {
        const same = drops.find((x) => x.stage === d.stage && x.reason === d.reason && x.container === d.container);
        if (same) same.count += count;
        else drops.push({ ...d, count });
      },
    },
    onRecord: (r) => void records.push(r),
    ...(describeFn ? { describe: describeFn } : {}),
  });
  const push = (container: string, line: string, stream: 'stdout' | 'stderr' = 'stdout') => {
    now += 10;
    const raw: RawLogLine = { ts: now, container, stream, line, rawBytes: line.length + 30 };
    p.push(raw);
  };
  return { p, push, drops, records, at: () => now };
}

describe('LogPipeline', () => {
  it('ships WARN+ verbatim and redacted, INFO as templates with counts and samples, and counts levels', () => {
    const { p, push, records } = setup();
    for (let i = 0; i < 5; i++) push('web', `GET /items/${i} 200 in ${i * 3}ms`);
    push('web', 'WARN pool low for user ops@example.com');
    push('web', '{"level":"error","msg":"db down","password":"hunter2"}');
    push('web', 'DEBUG cache miss key 7');
    const w = p.flush(0, 60_000);
    expect(w.logs.map((l) => [l.level, l.message])).toEqual([
      [LogLevel.warn, 'WARN pool low for user [REDACTED:email]'],
      [LogLevel.error, 'db down'],
    ]);
    expect(w.logs[1]?.fields).toEqual({ password: '[REDACTED:password]' });
    const get = w.templates.find((t) => t.template.startsWith('GET'));
    expect(get).toMatchObject({ container: 'web', template: 'GET <*> <*> in <*>', count: 5 });
    expect(get?.samples).toHaveLength(3);
    expect(get?.samples[1]?.params).toEqual(['/items/1', '200', '3ms']);
    expect(w.logs[0]?.templateId).toMatch(/^[0-9a-f]{12}$/);
    const m = Object.fromEntries(w.metrics.map((s) => [s.metric, s.sum]));
    expect(m).toEqual({ 'logs.debug_lines': 1, 'logs.info_lines': 5, 'logs.warn_lines': 1, 'logs.error_lines': 1 });
    // The store sees every line, unredacted and unfiltered.
    expect(records).toHaveLength(8);
    expect(records[5]?.line).toContain('ops@example.com');
    expect(p.stats().redactions).toEqual({ email: 1, password: 1 });
  });

  it('samples a template when first seen and then once per sampleIntervalMs, never one shipped verbatim', () => {
    const { p, push } = setup({ templates: { sampleIntervalMs: 120_000 } });
    const window = (n: number) => {
      for (let i = 0; i < 3; i++) push('web', `GET /items/${n * 10 + i} 200 in ${i}ms`);
      push('db', `WARN slow query ${n} took ${n + 5}ms`);
      push('db', `WARN slow query ${n + 1} took ${n + 6}ms`);
      return p.flush(0, 60_000);
    };
    const first = window(0);
    expect(first.templates.map((t) => t.container).sort()).toEqual(['db', 'web']);
    expect(first.templates.find((t) => t.container === 'web')?.samples).toHaveLength(3);
    expect(first.templates.find((t) => t.container === 'db')?.samples).toEqual([]);
    const at = (w: ReturnType<typeof window>) => w.templates.find((t) => t.container === 'web');
    // Counts every window; samples again only once the interval has passed (each window here takes 50 ms of clock).
    const next = window(1);
    expect(at(next)).toMatchObject({ count: 3, samples: [] });
    const { p: q, push: qpush } = setup({ templates: { sampleIntervalMs: 0 } });
    for (let n = 0; n < 2; n++) {
      qpush('web', `GET /items/${n} 200 in 1ms`);
      expect(q.flush(0, 60_000).templates[0]?.samples).toHaveLength(1);
    }
  });

  it("rounds templates' first and last seen and their samples' times down to templateTimeResolutionMs (1 s by default)", () => {
    const lines = (push: (c: string, l: string) => void) => {
      for (let i = 0; i < 3; i++) push('web', `GET /items/${i} 200 in ${i}ms`);
    };
    const coarse = setup();
    lines(coarse.push);
    const [t] = coarse.p.flush(0, 60_000).templates;
    // The lines arrive at 1,000,010 .. 1,000,030 ms.
    expect(t).toMatchObject({ firstSeen: 1_000_000, lastSeen: 1_000_000 });
    expect(t?.samples.map((x) => x.ts)).toEqual([1_000_000, 1_000_000, 1_000_000]);
    const exact = setup({ templateTimeResolutionMs: 1 });
    lines(exact.push);
    const [u] = exact.p.flush(0, 60_000).templates;
    expect(u).toMatchObject({ firstSeen: 1_000_010, lastSeen: 1_000_030 });
    expect(u?.samples.map((x) => x.ts)).toEqual([1_000_010, 1_000_020, 1_000_030]);
  });

  it('collapses consecutive duplicates and counts filter and throttle drops', () => {
    const { p, push, drops } = setup({
      defaults: { throttle: { linesPerSecond: 1, burst: 2 }, filter: { exclude: ['healthz'] } },
    });
    for (let i = 0; i < 4; i++) push('api', 'ERROR upstream refused');
    push('api', 'GET /healthz 200');
    push('api', 'TRACE tick');
    for (let i = 0; i < 3; i++) push('api', `ERROR job ${i} failed`);
    const w = p.flush(0, 60_000);
    expect(w.logs.map((l) => [l.message, l.repeat])).toEqual([
      ['ERROR upstream refused', 4],
      ['ERROR job 0 failed', 1],
    ]);
    expect(drops.sort((a, b) => a.reason.localeCompare(b.reason))).toEqual([
      { stage: 'logs.filter', reason: 'below_level', container: 'api', count: 1 },
      { stage: 'logs.filter', reason: 'excluded', container: 'api', count: 1 },
      { stage: 'logs.throttle', reason: 'rate_limited', container: 'api', count: 2 },
    ]);
  });

  it('selects per-container settings by name, image and label', () => {
    const info: Record<string, { name: string; image: string; labels: Record<string, string> }> = {
      db: { name: 'db', image: 'postgres:16', labels: {} },
      noisy: { name: 'noisy', image: 'acme/noisy:1', labels: { 'et.logs': 'errors-only' } },
    };
    const { p, push } = setup(
      {
        containers: [
          { image: 'postgres:*', settings: { verbatimLevel: 'info' } },
          { labels: { 'et.logs': 'errors-only' }, settings: { filter: { minLevel: 'error' } } },
        ],
      },
      (c) => info[c] ?? { name: c, image: '', labels: {} },
    );
    push('db', 'checkpoint complete');
    push('noisy', 'WARN something');
    push('other', 'hello there');
    const w = p.flush(0, 60_000);
    expect(w.logs.map((l) => l.container)).toEqual(['db']);
    expect(w.templates.map((t) => t.container).sort()).toEqual(['db', 'other']);
  });

  it('joins a stack trace into one event and releases it at flush', () => {
    const { p, push } = setup();
    push('svc', 'ERROR request failed');
    push('svc', '\tat com.acme.Handler.run(Handler.java:42)');
    push('svc', '\tat java.lang.Thread.run(Thread.java:833)');
    const w = p.flush(0, 60_000);
    expect(w.logs).toHaveLength(1);
    expect(w.logs[0]?.message.split('\n')).toHaveLength(3);
    expect(p.stats()).toMatchObject({ linesIn: 3, eventsIn: 1 });
  });

  it('reports clusters the miner merged during the window once, under the live id', () => {
    // Merged once three users were seen (the default waits for more: templates.mergeAfter).
    const { p, push } = setup({ templates: { mergeAfter: 3 } });
    for (const user of ['webmaster', 'oracle', 'admin', 'guest']) push('sshd', `Invalid user ${user} from 10.0.0.1`);
    push('sshd', 'WARN Invalid user root from 10.0.0.9');
    const w = p.flush(0, 60_000);
    const invalid = w.templates.filter((t) => t.template.startsWith('Invalid'));
    expect(invalid).toHaveLength(1);
    // The WARN line's level is its header, not its event's: it is the same template (shipped verbatim too).
    expect(invalid[0]).toMatchObject({ template: 'Invalid user <*> from <*>', count: 5 });
    // Samples from before the merge lack the user parameter and are left out.
    expect(invalid[0]?.samples.map((s) => s.params)).toEqual([
      ['admin', '10.0.0.1'],
      ['guest', '10.0.0.1'],
    ]);
  });

  it("lists on the survivor's next row the templates merged into it after their rows were shipped", () => {
    const { p, push } = setup({ templates: { mergeAfter: 3 } });
    push('sshd', 'Invalid user webmaster from 10.0.0.1');
    push('sshd', 'Invalid user oracle from 10.0.0.1');
    const first = p.flush(0, 60_000).templates;
    expect(first).toHaveLength(2);
    expect(first.every((t) => t.merged === undefined)).toBe(true);
    push('sshd', 'Invalid user admin from 10.0.0.1');
    const second = p.flush(60_000, 120_000).templates;
    expect(second).toHaveLength(1);
    const [survivor, merged] = [
      first.find((t) => t.template.includes('webmaster')),
      first.find((t) => t.template.includes('oracle')),
    ];
    expect(second[0]).toMatchObject({ id: survivor?.id, template: 'Invalid user <*> from <*>', merged: [merged?.id] });
    push('sshd', 'Invalid user guest from 10.0.0.1');
    expect(p.flush(120_000, 180_000).templates[0]?.merged).toBeUndefined();
  });

  it('rejects invalid options with a code', () => {
    expect(() => logPipelineOptions({ defaults: { throttle: { burst: 0 } } })).toThrow(
      expect.objectContaining({ code: 'ET_ERR_OPTIONS' }),
    );
  });
});
