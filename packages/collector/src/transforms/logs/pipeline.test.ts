import { LogLevel, limits, validateBatch, type DropCount } from '@edge-telemetry/protocol';
import { idleHealth } from '@edge-telemetry/protocol/testing';
import { describe, expect, it } from 'vitest';
import type { FileRef, RawLogLine } from '../../sources/types.js';
import { logPipelineOptions } from './options.js';
import { LogPipeline, type LogPipelineWindow, type LogRecord, type WindowCursorState } from './pipeline.js';

const WINDOW = 60_000;

/** Every open window sealed now, as one (the tests' lines all fall in one window unless they say otherwise). */
function sealAllAsOne(p: LogPipeline): LogPipelineWindow {
  const ws = p.sealAll();
  return {
    start: ws[0]?.start ?? 0,
    end: ws.at(-1)?.end ?? 0,
    logs: ws.flatMap((w) => w.logs),
    templates: ws.flatMap((w) => w.templates),
    metrics: ws.flatMap((w) => w.metrics),
    rawBytes: ws.reduce((n, w) => n + w.rawBytes, 0),
  };
}

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
    windowMs: WINDOW,
    ...(describeFn ? { describe: describeFn } : {}),
  });
  const push = (container: string, line: string, stream: 'stdout' | 'stderr' = 'stdout') => {
    now += 10;
    const raw: RawLogLine = { ts: now, container, stream, line, rawBytes: line.length + 30, offset: 0, end: 0 };
    p.push(raw);
  };
  return { p, push, drops, records, at: () => now, skip: (ms: number) => void (now += ms) };
}

describe('LogPipeline', () => {
  it('ships WARN+ verbatim and redacted, INFO as templates with counts and samples, and counts levels', () => {
    const { p, push, records } = setup();
    for (let i = 0; i < 5; i++) push('web', `GET /items/${i} 200 in ${i * 3}ms`);
    push('web', 'WARN pool low for user ops@example.com');
    push('web', '{"level":"error","msg":"db down","password":"hunter2"}');
    push('web', 'DEBUG cache miss key 7');
    const w = sealAllAsOne(p);
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

  it("redacts the fields of the lines that leave verbatim, a collapsed run's included, and counts only those", () => {
    const { p, push } = setup();
    // Templated only: its fields never leave the node (the template keeps the message's parameters).
    push('web', '{"level":"info","msg":"login ok","password":"hunter2"}');
    push('api', '{"level":"error","msg":"login failed","password":"hunter2","user":"bob"}', 'stderr');
    push('api', '{"level":"error","msg":"login failed","password":"hunter3","user":"eve"}', 'stderr');
    const w = sealAllAsOne(p);
    expect(w.logs.map((l) => [l.message, l.repeat, l.fields])).toEqual([
      ['login failed', 2, { password: '[REDACTED:password]', user: 'bob' }],
    ]);
    expect(w.templates.map((t) => [t.template, t.count]).sort()).toEqual([
      ['login failed', 2],
      ['login ok', 1],
    ]);
    expect(JSON.stringify(w)).not.toContain('hunter');
    expect(p.stats().redactions).toEqual({ password: 1 });
  });

  it('gives a line a debug ships verbatim its fields, redacted, also when the debug began while the line was held', () => {
    const { p, push, at } = setup();
    push('api', '{"level":"info","msg":"login ok","password":"hunter2","user":"bob"}');
    push('api', '{"level":"info","msg":"login ok","password":"hunter2","user":"bob"}');
    // The collapsed run above is held (read before the debug began) and leaves when the next line comes.
    p.setDebug({ until: at() + 60_000, level: LogLevel.info, extraBytes: 10_000, containers: ['api'] });
    push('api', '{"level":"info","msg":"bye","user":"eve","n":1}');
    const w = sealAllAsOne(p);
    expect(w.logs.map((l) => [l.message, l.repeat, l.fields])).toEqual([
      ['login ok', 2, { password: '[REDACTED:password]', user: 'bob' }],
      ['bye', 1, { user: 'eve', n: '1' }],
    ]);
    expect(p.stats().redactions).toEqual({ password: 1 });
  });

  it('samples a template when first seen and then once per sampleIntervalMs, never one shipped verbatim', () => {
    const { p, push } = setup({ templates: { sampleIntervalMs: 120_000 } });
    const window = (n: number) => {
      for (let i = 0; i < 3; i++) push('web', `GET /items/${n * 10 + i} 200 in ${i}ms`);
      push('db', `WARN slow query ${n} took ${n + 5}ms`);
      push('db', `WARN slow query ${n + 1} took ${n + 6}ms`);
      return sealAllAsOne(p);
    };
    const first = window(0);
    expect(first.templates.map((t) => t.container).sort()).toEqual(['db', 'web']);
    expect(first.templates.find((t) => t.container === 'web')?.samples).toHaveLength(3);
    expect(first.templates.find((t) => t.container === 'db')?.samples).toEqual([]);
    const at = (w: ReturnType<typeof window>) => w.templates.find((t) => t.container === 'web');
    // Counts every window; samples again only once the interval has passed in the lines' time (the next window here).
    const next = window(1);
    expect(at(next)).toMatchObject({ count: 3, samples: [] });
    const { p: q, push: qpush } = setup({ templates: { sampleIntervalMs: 0 } });
    for (let n = 0; n < 2; n++) {
      qpush('web', `GET /items/${n} 200 in 1ms`);
      expect(sealAllAsOne(q).templates[0]?.samples).toHaveLength(1);
    }
  });

  it("rounds templates' first and last seen and their samples' times down to templateTimeResolutionMs (1 s by default)", () => {
    const lines = (push: (c: string, l: string) => void) => {
      for (let i = 0; i < 3; i++) push('web', `GET /items/${i} 200 in ${i}ms`);
    };
    const coarse = setup();
    lines(coarse.push);
    const [t] = sealAllAsOne(coarse.p).templates;
    // The lines arrive at 1,000,010 .. 1,000,030 ms.
    expect(t).toMatchObject({ firstSeen: 1_000_000, lastSeen: 1_000_000 });
    expect(t?.samples.map((x) => x.ts)).toEqual([1_000_000, 1_000_000, 1_000_000]);
    const exact = setup({ templateTimeResolutionMs: 1 });
    lines(exact.push);
    const [u] = sealAllAsOne(exact.p).templates;
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
    const w = sealAllAsOne(p);
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
    const w = sealAllAsOne(p);
    expect(w.logs.map((l) => l.container)).toEqual(['db']);
    expect(w.templates.map((t) => t.container).sort()).toEqual(['db', 'other']);
  });

  it('joins a stack trace into one event and releases it when its window is sealed', () => {
    const { p, push } = setup();
    push('svc', 'ERROR request failed');
    push('svc', '\tat com.acme.Handler.run(Handler.java:42)');
    push('svc', '\tat java.lang.Thread.run(Thread.java:833)');
    const w = sealAllAsOne(p);
    expect(w.logs).toHaveLength(1);
    expect(w.logs[0]?.message.split('\n')).toHaveLength(3);
    expect(p.stats()).toMatchObject({ linesIn: 3, eventsIn: 1 });
  });

  it('reports clusters the miner merged during the window once, under the live id', () => {
    // Merged once three users were seen (the default waits for more: templates.mergeAfter).
    const { p, push } = setup({ templates: { mergeAfter: 3 } });
    for (const user of ['webmaster', 'oracle', 'admin', 'guest']) push('sshd', `Invalid user ${user} from 10.0.0.1`);
    push('sshd', 'WARN Invalid user root from 10.0.0.9');
    const w = sealAllAsOne(p);
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
    const first = sealAllAsOne(p).templates;
    expect(first).toHaveLength(2);
    expect(first.every((t) => t.merged === undefined)).toBe(true);
    push('sshd', 'Invalid user admin from 10.0.0.1');
    const second = sealAllAsOne(p).templates;
    expect(second).toHaveLength(1);
    const [survivor, merged] = [
      first.find((t) => t.template.includes('webmaster')),
      first.find((t) => t.template.includes('oracle')),
    ];
    expect(second[0]).toMatchObject({ id: survivor?.id, template: 'Invalid user <*> from <*>', merged: [merged?.id] });
    push('sshd', 'Invalid user guest from 10.0.0.1');
    expect(sealAllAsOne(p).templates[0]?.merged).toBeUndefined();
  });

  it('rejects invalid options with a code', () => {
    expect(() => logPipelineOptions({ defaults: { throttle: { burst: 0 } } })).toThrow(
      expect.objectContaining({ code: 'ET_ERR_OPTIONS' }),
    );
  });
});

describe("LogPipeline windows by the lines' own time", () => {
  const T0 = Date.UTC(2026, 10, 1, 6); // a window boundary
  const file = (path: string, inode = 1, order = 1): FileRef => ({
    path,
    inode,
    order,
    storedUpTo: 0,
    storedExtra: undefined,
    recordedEnd: 0,
    pushedAs: undefined,
  });
  function timed(options: unknown = {}, restore?: WindowCursorState) {
    let now = T0 + 10 * 3_600_000; // the node's clock: hours after the backlog's lines were written
    const drops: DropCount[] = [];
    const p = new LogPipeline(logPipelineOptions(options), {
      now: () => now,
      report: { drop: (d, count = 1) => void drops.push({ ...d, count }) },
      windowMs: WINDOW,
      restore,
    });
    let offset = 0;
    const push = (container: string, ts: number, line: string, f?: FileRef, stream: 'stdout' | 'stderr' = 'stdout') => {
      const end = offset + line.length + 1;
      p.push({ ts, container, stream, line, rawBytes: line.length + 1, file: f, offset, end });
      offset = end;
    };
    return { p, push, drops, setNow: (t: number) => (now = t) };
  }

  it('tells the store no line of a file is stored before it is, when the file goes as another container (rename)', () => {
    // Seen as lines missing from the store after a SIGKILL (test/collector/sigkill.test.ts): a
    // config.v2.json read torn named the container by its id for one look while the joiner held its
    // last line of each stream under the old name; the next line recorded said the file was stored
    // up to it, the kill came before the held lines were, and the next start took them for stored.
    const recorded = new Set<number>();
    const ends: number[] = [];
    const unrecordedBefore: number[] = [];
    const p = new LogPipeline(logPipelineOptions({}), {
      now: () => T0,
      report: { drop: () => undefined },
      windowMs: WINDOW,
      onRecord: (_r, raw, upTo) => {
        recorded.add(raw.end);
        for (const e of ends) if (e <= upTo && !recorded.has(e)) unrecordedBefore.push(e);
      },
    });
    const f = file('/logs/app.log');
    let offset = 0;
    const push = (container: string, line: string, stream: 'stdout' | 'stderr' = 'stdout') => {
      const end = offset + line.length + 1;
      ends.push(end);
      p.push({ ts: T0 + offset, container, stream, line, rawBytes: line.length + 1, file: f, offset, end });
      offset = end;
    };
    push('app', 'INFO one');
    push('app', 'WARN two', 'stderr');
    push('0123456789ab', 'INFO three');
    push('0123456789ab', 'INFO four');
    push('app', 'INFO five');
    push('app', 'INFO six');
    p.sealAll();
    expect({ unrecordedBefore, recorded: recorded.size }).toEqual({ unrecordedBefore: [], recorded: 6 });
  });

  it('turns a backlog into the windows it spans, each with its own caps, sealed as the read time passes their end', () => {
    const { p, push, drops } = timed({ maxLogsPerWindow: 2 });
    // Three minutes of backlog: 3 warnings a minute, read long after they were written.
    for (let m = 0; m < 3; m++)
      for (let i = 0; i < 3; i++) push('app', T0 + m * WINDOW + i * 1000, `WARN slow ${m} ${i}`);
    // Read up to 2:10 into the backlog: the first two windows are complete, the third is not.
    const sealed = p.seal(() => T0 + 2 * WINDOW + 10_000);
    expect(sealed.map((w) => [w.start - T0, w.end - T0])).toEqual([
      [0, WINDOW],
      [WINDOW, 2 * WINDOW],
    ]);
    // Each window keeps 2 of its 3 warnings (its own cap), and counts all 3.
    for (const w of sealed) {
      expect(w.logs).toHaveLength(2);
      expect(w.logs.every((l) => l.ts >= w.start && l.ts < w.end)).toBe(true);
      expect(w.metrics.find((x) => x.metric === 'logs.warn_lines')).toMatchObject({ start: w.start, sum: 3 });
    }
    expect(drops.filter((d) => d.reason === 'cap_logs').reduce((n, d) => n + d.count, 0)).toBe(2);
    // The third is sealed once the read time is the lateness bound past its end.
    expect(p.seal(() => T0 + 3 * WINDOW)).toEqual([]);
    expect(p.seal(() => T0 + 3 * WINDOW + p.lateness).map((w) => w.start - T0)).toEqual([2 * WINDOW]);
  });

  it('seals no window that ends after upTo, however far the read time is past it (the live window waits for its tick)', () => {
    const { p, push } = timed();
    for (let m = 0; m < 3; m++) push('app', T0 + m * WINDOW + 1000, `WARN slow ${m}`);
    const readTime = () => T0 + 3 * WINDOW + p.lateness;
    expect(p.seal(readTime, T0 + WINDOW).map((w) => w.start - T0)).toEqual([0]);
    // A bound inside a window keeps that window open too.
    expect(p.seal(readTime, T0 + 2 * WINDOW - 1000)).toEqual([]);
    expect(p.seal(readTime, T0 + 3 * WINDOW).map((w) => w.start - T0)).toEqual([WINDOW, 2 * WINDOW]);
  });

  it('puts a line older than its sealed window into the earliest open one (counted), and a future one at the node time', () => {
    const { p, push, setNow } = timed();
    push('app', T0 + 1000, 'WARN first');
    expect(p.seal(() => T0 + WINDOW + p.lateness)).toHaveLength(1);
    push('app', T0 + 2000, 'WARN late');
    push('app', T0 + WINDOW + 5000, 'WARN on time');
    const [w] = p.seal(() => T0 + 2 * WINDOW + p.lateness);
    expect(w?.start).toBe(T0 + WINDOW);
    // The late line keeps its own time.
    expect(w?.logs.map((l) => [l.message, l.ts - T0])).toEqual([
      ['WARN late', 2000],
      ['WARN on time', WINDOW + 5000],
    ]);
    setNow(T0 + 3 * WINDOW);
    push('app', T0 + 10 * 3_600_000, 'WARN from the future');
    const [f] = p.sealAll();
    expect(f?.start).toBe(T0 + 3 * WINDOW);
    expect(p.stats()).toMatchObject({ lateLines: 1, futureLines: 1 });
  });

  it('after the clock is stepped back, seals the window lines went to once, then windows follow the new time', () => {
    let now = 10 * 3_600_000;
    let throttled = 0;
    const report = { drop: (d: { stage: string }, n = 1) => void (d.stage === 'logs.throttle' && (throttled += n)) };
    // One line a second is within the rate: none is throttled unless the step stops the bucket's refill.
    const options = logPipelineOptions({ defaults: { throttle: { linesPerSecond: 1, burst: 2 } } });
    const p = new LogPipeline(options, { now: () => now, report, windowMs: WINDOW });
    const starts: number[] = [];
    const shipped: string[] = [];
    // A line and a seal each second, as a live file read while the reader's sink seals (BACKLOG_SEAL_EVERY_MS).
    const second = (text: string) => {
      p.push({ ts: now, container: 'app', stream: 'stdout', line: text, rawBytes: 10, offset: 0, end: 0 });
      now += 1000;
      for (const w of p.seal(() => now)) {
        starts.push(w.start);
        shipped.push(...w.logs.map((l) => l.message));
      }
    };
    for (let i = 0; i < 120; i++) second(`ERROR before ${i}`);
    now -= 3_600_000;
    const stepped = now;
    starts.length = 0;
    shipped.length = 0;
    for (let i = 0; i < 180; i++) second(`ERROR after ${i}`);
    // The window of the old time the first lines went to, then one a minute at the new time.
    expect(starts[0]).toBeGreaterThan(stepped + 3_000_000);
    expect(starts.slice(1).every((s) => s >= stepped - WINDOW && s < now)).toBe(true);
    expect(starts.length).toBeLessThanOrEqual(5);
    // The rate bucket counts the step as no time: at most the line taken across it is throttled (177
    // were, refilling nothing until the clock was back). The last minute's window is still open.
    expect(throttled).toBeLessThanOrEqual(1);
    expect(shipped.filter((m) => m.startsWith('ERROR after')).length).toBeGreaterThanOrEqual(115);
  });

  it('names the first line of the earliest open window (or a held multi-line event) as where to resume reading', () => {
    const { p, push } = timed();
    const f = file('/logs/a.log');
    push('app', T0 + 1000, 'WARN one', f); // offset 0
    push('app', T0 + WINDOW + 1000, 'WARN two', f); // offset 9
    push('app', T0 + WINDOW + 2000, 'ERROR three', f); // offset 18, held: a continuation may follow
    expect(p.openPosition(f.path)).toEqual({ inode: 1, offset: 0 });
    p.seal(() => T0 + WINDOW + p.lateness);
    expect(p.openPosition(f.path)).toEqual({ inode: 1, offset: 9 });
    p.sealAll();
    expect(p.openPosition(f.path)).toBeUndefined();
  });

  it("resumes at a window's earliest line when a held line of one stream reaches it after the other stream's", () => {
    const { p, push } = timed();
    const f = file('/logs/a.log');
    // Each stream's line is held until that stream's next line shows whether it continues.
    push('app', T0 + 1000, 'WARN one', f); // offset 0, window 0
    push('app', T0 + WINDOW + 1000, 'ERROR held', f, 'stderr'); // offset 9, window 1
    push('app', T0 + WINDOW + 1010, 'WARN other', f); // offset 20, window 1: releases 'WARN one'
    push('app', T0 + WINDOW + 1020, 'WARN more', f); // offset 31: releases 'WARN other', window 1's first processed line
    p.seal(() => T0 + WINDOW + p.lateness);
    expect(p.openPosition(f.path)).toEqual({ inode: 1, offset: 9 });
    // The next stderr line releases the held one into window 1: its earliest line is still at 9, not
    // the first processed at 20 (a restart from 20 lost 'ERROR held').
    push('app', T0 + WINDOW + 1030, 'ERROR next', f, 'stderr');
    expect(p.openPosition(f.path)).toEqual({ inode: 1, offset: 9 });
    const [w] = p.sealAll();
    expect(w?.logs.map((l) => l.message)).toContain('ERROR held');
  });

  it("follows a file's resume point on after its container is renamed and the old name let go", () => {
    const { p, push, setNow } = timed();
    const f = file('/logs/a.log');
    const lines: Array<{ ts: number; offset: number }> = [];
    let offset = 0;
    const line = (container: string, ts: number, text: string) => {
      lines.push({ ts, offset });
      offset += text.length + 1;
      push(container, ts, text, f);
    };
    // The old name's last lines were read three minutes before the rename (by the node's clock).
    setNow(T0 + 10 * 3_600_000 - 180_000);
    line('old', T0 + 1000, 'WARN one');
    line('old', T0 + 2000, 'WARN two');
    // `docker rename`: the file's next lines come under the new name (LogFileSource reads the name
    // again), a line a second as a live file's, sealed as they are read.
    for (let i = 0; i < 360; i++) {
      setNow(T0 + 10 * 3_600_000 + i * 1000);
      line('new', T0 + 3000 + i * 1000, `WARN line ${i}`);
      p.seal(() => T0 + 3000 + i * 1000);
    }
    // The old name's state went after two minutes without a line. Where a restart resumes is still
    // the first line of the new name's earliest open window: before, the windows sealed after the
    // old name went stayed open for the file, and a restart read (and shipped) them again.
    const horizon = p.cursorState().horizons.new as number;
    expect(horizon).toBeGreaterThanOrEqual(T0 + 6 * WINDOW);
    expect(p.openPosition(f.path)?.offset).toBe(lines.find((l) => l.ts >= horizon)?.offset);
  });

  it("keeps the resume point at a renamed container's open window when the old name seals the same window", () => {
    const { p, push } = timed();
    const f = file('/logs/a.log');
    push('old', T0 + 1000, 'WARN a', f); // offset 0
    push('old', T0 + 1500, 'WARN a2', f); // offset 7
    // Renamed in the same window; its file read no further than 3 s into it (a backlog).
    push('new', T0 + 2000, 'WARN b', f); // offset 15
    push('new', T0 + 2500, 'WARN b2', f); // offset 22, held: a continuation may follow
    // The old name is no file's any more: read up to now, its window is sealed; the new name's is not.
    const sealed = p.seal((c) => (c === 'old' ? T0 + WINDOW + p.lateness : T0 + 3000));
    expect(sealed.flatMap((w) => w.logs.map((l) => l.container))).toEqual(['old', 'old']);
    // Resume at the new name's first line: a position shared by window start alone went with the
    // old name's seal, and a restart resumed at 22, past 'WARN b' (lost).
    expect(p.openPosition(f.path)).toEqual({ inode: 1, offset: 15 });
  });

  it('keeps the resume point of a container let go at the cap until its window is sealed when due', () => {
    const { p, push } = timed({ maxContainers: 1 });
    const a = file('/logs/a.log', 1);
    const b = file('/logs/b.log', 2);
    push('a', T0 + 1000, 'WARN a1', a); // offset 0
    push('b', T0 + 2000, 'WARN b1', b); // offset 8: a is let go, its window stays open
    push('a', T0 + 3000, 'WARN a2', a); // offset 16: b is let go, a joins its own window again
    expect(p.stats()).toMatchObject({ containers: 1, shedContainers: 2, lateLines: 0 });
    // Read only 3 s into the window: nothing is due, and a restart would read both files from their first line.
    expect(p.seal(() => T0 + 3000)).toEqual([]);
    expect(p.openPosition(a.path)).toEqual({ inode: 1, offset: 0 });
    expect(p.openPosition(b.path)).toEqual({ inode: 2, offset: 8 });
    const [w, ...rest] = p.seal(() => T0 + WINDOW + p.lateness);
    expect(rest).toEqual([]);
    expect(w?.logs.map((l) => l.message)).toEqual(['WARN a1', 'WARN a2', 'WARN b1']);
    expect(w?.metrics.map((m) => [m.container, m.sum])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(p.openPosition(a.path)).toBeUndefined();
    expect(p.openPosition(b.path)).toBeUndefined();
    expect(p.cursorState().horizons).toEqual({ a: T0 + WINDOW, b: T0 + WINDOW });
  });

  it('under shedding at the cap, a restart from the cursor counts every line once and seals no window of a container twice (seeded)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      let s = seed;
      const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
      const containers = 4 + Math.floor(r() * 20);
      const cap = 1 + Math.floor(r() * 8);
      // Each container's file, written in time order; times drift apart by up to minutes.
      const files = Array.from({ length: containers }, (_, c) => file(`/logs/${c}.log`, 100 + c));
      const times = files.map(() => T0 + Math.floor(r() * 30_000));
      const ends = files.map(() => 0);
      const lines = Array.from({ length: 200 + Math.floor(r() * 400) }, (_, i) => {
        const c = r() < 0.5 ? Math.floor(r() * 3) : Math.floor(r() * containers);
        times[c] = (times[c] as number) + Math.floor(r() * (r() < 0.1 ? 90_000 : 5_000));
        const text = `${r() < 0.3 ? 'WARN' : 'INFO'} line ${i}`;
        const offset = ends[c] as number;
        ends[c] = offset + text.length + 1;
        return { c, ts: times[c] as number, offset, text };
      });
      const run = (restore?: WindowCursorState) => {
        let now = T0;
        const p = new LogPipeline(logPipelineOptions({ maxContainers: cap }), {
          now: () => now,
          report: { drop: () => undefined },
          windowMs: WINDOW,
          restore,
        });
        const push = (l: (typeof lines)[number]) => {
          now = Math.max(now, l.ts);
          const f = files[l.c] as FileRef;
          p.push({
            ts: l.ts,
            container: `c${l.c}`,
            stream: 'stdout',
            line: l.text,
            rawBytes: 1,
            file: f,
            offset: l.offset,
            end: l.offset + l.text.length + 1,
          });
        };
        return { p, push };
      };
      const counted = new Map<string, number>();
      const sealed = new Set<string>();
      const take = (ws: LogPipelineWindow[]) => {
        for (const w of ws)
          for (const c of new Set(w.metrics.map((m) => m.container))) {
            expect(sealed.has(`${c}@${w.start}`), `seed ${seed}: ${c}'s window ${w.start} sealed twice`).toBe(false);
            sealed.add(`${c}@${w.start}`);
          }
        for (const m of ws.flatMap((w) => w.metrics)) counted.set(m.container, (counted.get(m.container) ?? 0) + m.sum);
      };
      // The first run reads up to a crash, sealing as read times pass; what it sealed is durable with its cursor.
      const first = run();
      const crash = Math.floor(r() * lines.length);
      const readTo = files.map(() => -Infinity);
      const readTime = (c: string) => readTo[Number(c.slice(1))];
      lines.slice(0, crash).forEach((l) => {
        first.push(l);
        readTo[l.c] = Math.max(readTo[l.c] as number, l.ts);
        if (r() < 0.1) take(first.p.seal(readTime));
      });
      take(first.p.seal(readTime));
      const resume = files.map((f) => first.p.openPosition(f.path)?.offset);
      // The restart reads each file again from its position (none: from where reading stood).
      const second = run(first.p.cursorState());
      lines.forEach((l, i) => {
        const at = resume[l.c];
        if (i >= crash || (at !== undefined && l.offset >= at)) second.push(l);
      });
      take(second.p.sealAll());
      const written = new Map<string, number>();
      for (const l of lines) written.set(`c${l.c}`, (written.get(`c${l.c}`) ?? 0) + 1);
      expect(counted, `seed ${seed}`).toEqual(written);
    }
  });

  it('keeps lines read again after a restart out of the windows the previous run sealed', () => {
    const first = timed();
    first.push('app', T0 + 1000, 'WARN one');
    first.p.seal(() => T0 + WINDOW + first.p.lateness);
    const restored = timed({}, first.p.cursorState());
    restored.push('app', T0 + 2000, 'WARN read again');
    const [w] = restored.p.sealAll();
    expect(w?.start).toBe(T0 + WINDOW);
    expect(restored.p.stats().lateLines).toBe(1);
  });
});

/**
 * What the pipeline emits goes into a batch that the codec refuses whole if one of its strings is
 * over the protocol's limit or not well-formed; the session-10 trial saw one 300 KB ERROR line make
 * the uplink refuse the seal, and every container's lines of those windows were lost.
 */
describe('LogPipeline: texts within the protocol', () => {
  const batchOf = (w: LogPipelineWindow) => ({
    node: 'gw',
    epoch: 1,
    seq: 1,
    sentAt: w.end,
    windowStart: w.start,
    windowEnd: w.end,
    containers: [],
    metrics: w.metrics,
    logs: w.logs,
    templates: w.templates,
    events: [],
    drops: [],
    health: idleHealth('t'),
  });
  const bytes = (s: string | undefined) => Buffer.byteLength(s ?? '');

  it('cuts verbatim messages, template texts and sample values over the limit, and counts each cut', () => {
    const { p, push, drops } = setup();
    const long = 'x'.repeat(300_000);
    push('app', `ERROR long ${long} end`);
    // Multi-byte characters: 100,000 of them are 300,000 bytes, and a cut must not split one.
    push('app', `WARN wide ${'é€'.repeat(50_000)}`);
    push('app', `INFO word ${'y'.repeat(100_000)} end`);
    push('app', `INFO value ${'7'.repeat(100_000)} end`);
    const w = sealAllAsOne(p);
    const check = validateBatch(batchOf(w));
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    const [error, warn] = w.logs;
    expect(error?.message.startsWith(`ERROR long ${'x'.repeat(1000)}`)).toBe(true);
    expect(bytes(error?.message)).toBeLessThanOrEqual(limits.maxStringBytes);
    expect(bytes(error?.message)).toBeGreaterThan(limits.maxStringBytes - 16);
    expect(warn?.message.startsWith('WARN wide é€é€')).toBe(true);
    expect(warn?.message).not.toContain('\uFFFD');
    const word = w.templates.find((t) => t.template.startsWith('word'));
    expect(bytes(word?.template)).toBeLessThanOrEqual(limits.maxStringBytes);
    const value = w.templates.find((t) => t.template.startsWith('value'));
    expect(bytes(value?.samples[0]?.params[0])).toBeLessThanOrEqual(limits.maxStringBytes);
    // Two messages, the templates of all three long words, and the long value.
    expect(drops.filter((d) => d.stage === 'logs.text')).toEqual([
      { stage: 'logs.text', reason: 'cut', container: 'app', count: 6 },
    ]);
  });

  it('keeps the fields of a verbatim line well-formed when their length cut splits a character', () => {
    const { p, push } = setup();
    // maxFieldLength (256) falls between the two halves of the emoji's surrogate pair.
    push('app', JSON.stringify({ level: 'error', msg: 'bad name', name: `${'a'.repeat(255)}😀 tail` }));
    const w = sealAllAsOne(p);
    const check = validateBatch(batchOf(w));
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    expect(w.logs[0]?.fields.name?.startsWith('a'.repeat(255))).toBe(true);
  });

  it('reads a JSON line nested deeper than JSON.stringify can encode, keeping its levels up to 16, and counts it', () => {
    const { p, push, drops } = setup();
    // 100,000 levels are a 200 KB line: JSON.parse reads it, JSON.stringify overflows the stack.
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    push('app', '{"level":"info","msg":"before"}');
    push('app', `{"level":"error","msg":${deep(100_000)}}`);
    push('app', `{"level":"error","msg":"deep field","extra":${deep(100_000)},"user":"x"}`);
    push('db', 'ERROR other container');
    push('app', '{"level":"error","msg":"after"}');
    const w = sealAllAsOne(p);
    const check = validateBatch(batchOf(w));
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    const nested16 = `${'['.repeat(16)}"[nested too deep]"${']'.repeat(16)}`;
    expect(w.logs.map((l) => [l.container, l.message, l.fields])).toEqual([
      ['app', nested16, {}],
      ['app', 'deep field', { extra: nested16.slice(0, 256), user: 'x' }],
      ['app', 'after', {}],
      ['db', 'ERROR other container', {}],
    ]);
    expect(drops.filter((d) => d.stage === 'logs.parse')).toEqual([
      { stage: 'logs.parse', reason: 'nested_too_deep', container: 'app', count: 2 },
    ]);
  });

  it('lets go of the state of containers that come and go, and of their templates later; every line reaches its window', () => {
    const { p, push, skip } = setup({ maxContainers: 100 });
    const windows: LogPipelineWindow[] = [];
    // CI jobs: 1,000 containers, each writes two lines and exits.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) {
        push(`job-${round}-${i}`, `INFO job ${i} started`);
        push(`job-${round}-${i}`, `ERROR job ${i} failed: exit ${round}`);
      }
      // Past the end of their window (and its lateness), not yet idle for two minutes.
      skip(WINDOW + 5000);
      windows.push(...p.seal(() => undefined));
      expect(p.stats().containers).toBe(100);
      // Idle past two minutes, nothing held: their states go.
      skip(121_000);
      windows.push(...p.seal(() => undefined));
      expect(p.stats().containers).toBe(0);
    }
    const s = p.stats();
    expect(s.shedContainers).toBe(0);
    // Horizons and template trees of the last 100 let go are kept, not of all 1,000.
    expect(Object.keys(p.cursorState().horizons)).toHaveLength(100);
    expect(s.templateScopes).toBe(100);
    expect(s.templateTokens).toBeGreaterThan(0);
    const lines = windows.flatMap((w) => w.metrics).reduce((n, m) => n + m.sum, 0);
    expect(lines).toBe(2000);
    expect(windows.flatMap((w) => w.logs)).toHaveLength(1000);
    // A container let go comes back: its horizon holds, no line goes into a window sealed before.
    const sealedEnd = Math.max(
      ...windows.filter((w) => w.metrics.some((m) => m.container === 'job-9-7')).map((w) => w.end),
    );
    push('job-9-7', 'ERROR job 7 failed again');
    const again = p.sealAll().filter((w) => w.logs.some((l) => l.container === 'job-9-7'));
    expect(again.map((w) => w.start >= sealedEnd)).toEqual([true]);
  });

  it('holds at most maxContainers states: those whose last line is oldest go, their windows stay open and are sealed when due (counted)', () => {
    const { p, push } = setup({ maxContainers: 50 });
    for (let i = 0; i < 200; i++) push(`svc-${i}`, `ERROR svc ${i} down`);
    // Let go in batches down to 45 (of 50): 30 passes of 5, svc-0 to svc-149, each line the
    // multi-line joiner held handed on into an open window (the last 50 lines are still held).
    expect(p.stats()).toMatchObject({ containers: 50, shedContainers: 150, openParts: 150 });
    // Nothing was sealed early: a container let go that writes again joins its own window's part.
    push('svc-0', 'ERROR svc 0 down again');
    expect(p.stats()).toMatchObject({ containers: 46, shedContainers: 155, lateLines: 0, openParts: 155 });
    const ws = [...p.seal(() => undefined), ...p.sealAll()];
    expect(ws).toHaveLength(1);
    expect(ws[0]?.logs).toHaveLength(201);
    const rows = ws[0]?.metrics ?? [];
    expect(rows).toHaveLength(200);
    expect(rows.find((m) => m.container === 'svc-0')?.sum).toBe(2);
    expect(p.stats().openParts).toBe(0);
  });

  it('above maxContainers, with every container writing in turn, lets states go in a few passes and keeps each line in the window of its time', () => {
    const { p, push, at, skip } = setup({ maxContainers: 100 });
    const expected = new Map<string, number>();
    const windows: LogPipelineWindow[] = [];
    // 110 containers at a cap of 100, a line each in turn, 40 rounds 10 s apart (8 windows),
    // sealed every 10 lines. Before, each new state sealed the oldest container's windows alone:
    // at 1,100 and 1,000, 43,000 passes gave 38,649 windows, and 38,296 of 44,000 lines were
    // late, each pass pushing a container's horizon a window further ahead of its lines' time.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 110; i++) {
        push(`c-${i}`, `INFO request ${round} served in ${i} ms`);
        const key = `c-${i}@${at() - (at() % WINDOW)}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        if (i % 10 === 0) windows.push(...p.seal(() => undefined));
      }
      skip(10_000);
    }
    windows.push(...p.sealAll());
    const s = p.stats();
    expect(s.lateLines).toBe(0);
    expect(s.containers).toBeLessThanOrEqual(100);
    // Each pass lets 10 go (down to 90 of 100), and every container is let go each round.
    expect(s.shedContainers).toBeGreaterThan(40 * 100);
    const starts = new Set([...expected.keys()].map((k) => k.slice(k.indexOf('@') + 1)));
    expect(windows.length).toBe(starts.size);
    const got = new Map<string, number>();
    for (const w of windows)
      for (const m of w.metrics)
        got.set(`${m.container}@${m.start}`, (got.get(`${m.container}@${m.start}`) ?? 0) + m.sum);
    expect(got).toEqual(expected);
  });
});
