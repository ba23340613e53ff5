/**
 * The collector's runtime: scrapes the metric sources on an aligned interval, feeds log lines
 * through the log pipeline as the sources read them, and seals windows into batches by priority
 * class for the uplink. Metric windows close on the wall clock; log windows close by the lines'
 * own time, once every line of their container up to their end (plus the lateness bound) has been
 * read, so a backlog becomes the windows it spans while the live windows keep going out on time.
 * Each seal is one outbox group that also carries where reading of every file may resume (the
 * cursor): the reading position is durable exactly when the windows of the lines before it are.
 * Events leave at once. Everything it uses is passed in (build-collector.ts is the production
 * wiring), so tests and the fleet simulator run the same runtime with other sources.
 */
import {
  validateMetricSummary,
  validateSpanSummary,
  type ContainerEvent,
  type ContainerInfo,
  type MetricSummary,
  type NodeHealth,
  type SpanSummary,
} from '@edge-telemetry/protocol';
import type { LogSink, LogSource, MetricSource, RawLogLine, ScrapeResult } from './sources/types.js';
import type { LogPipelineWindow, WindowCursorState } from './transforms/logs/pipeline.js';
import {
  PRIORITY_CLASS_REASONS,
  PriorityClass,
  splitByPriority,
  type BatchDraft,
  type PriorityClassValue,
} from './batch/priority-classes.js';
import type { DropCounter } from './batch/drops.js';
import { fitContainer } from './batch/fit-container.js';
import { representable } from './batch/fit-summaries.js';
import { carriableTimes } from './batch/fit-times.js';
import { fitText } from './batch/fit-text.js';
import { startAlignedTimer, type AlignedTimer } from './runtime/aligned-timer.js';
import type { Logger } from './runtime/logger.js';
import type { Mailbox } from './runtime/mailbox.js';
import { encodeCursor, type Cursor } from './runtime/cursor.js';

/** Bytes of one compact `docker stats` JSON document (the corpus' five real payloads average ~2 KB minified). */
const RAW_STATS_BYTES_PER_CONTAINER = 2000;
/**
 * Degrading under budget pressure comes before the outbox has to evict (docs/architecture.md). The
 * uplink's degrade level (0-3, one level per doubling of demand over what the budget carries)
 * withholds the least valuable classes first and, from level 2, sends metrics at the coarser tier.
 */
const DEGRADE = { coarseMetrics: 2 } as const;
const withheldFrom = (level: number): number => (level >= 3 ? 2 : level >= 1 ? 3 : 4);

/** Events that arrive together (a restart is die + start) go out in one batch after this delay. */
const EVENT_FLUSH_DELAY_MS = 500;
/**
 * While a backlog is read, its finished windows are sealed at most this often (each seal is one
 * outbox write); and at most this long after the read that reached its end, the last of them
 * (LogSink.ready(): a seal it cannot start yet is due then).
 */
export const BACKLOG_SEAL_EVERY_MS = 1000;
/** Under memory pressure the reader waits this long between chunks (bounded: a seal tick's catch-up still ends). */
const SHED_READ_PAUSE_MS = 250;
/** Empty metric windows a seal may close at once before it takes a clock step instead (closeMetrics). */
const MAX_EMPTY_WINDOWS = 3;

export interface CollectorParts {
  node: string;
  agentVersion: string;
  scrapeIntervalMs: number;
  windowMs: number;
  /** Windows are sealed this long after their end and the lateness bound (the node's share of downsample.sealJitterMs). */
  sealDelayMs?: number;
  metricSources: MetricSource[];
  logSources: LogSource[];
  /** Container lifecycle events as the sources post them; each is sent at once (EVENT_FLUSH_DELAY_MS). */
  events: Pick<Mailbox<ContainerEvent>, 'deliverTo'>;
  /** What the latest scrapes said about each container (name, image, labels); the runtime fills it, the log stages read it. */
  containers: Map<string, ContainerInfo>;
  downsampler: {
    ingest(source: string, result: Pick<ScrapeResult, 'samples'>): void;
    flush(windowEnd: number, start?: number): MetricSummary[];
  };
  /** Merges finished windows into the coarser tier sent while the uplink is degraded. */
  tiers:
    | { tierMs: number; roller: { push(windows: readonly MetricSummary[], windowEnd: number): MetricSummary[] } }
    | undefined;
  logs: {
    readonly lateness: number;
    push(line: RawLogLine): void;
    seal(readTime: (container: string) => number | undefined, upTo?: number): LogPipelineWindow[];
    sealAll(which?: (container: string) => boolean): LogPipelineWindow[];
    openPosition(path: string): { inode: number; offset: number } | undefined;
    cursorState(): WindowCursorState;
  };
  /** Span summaries of the window (OTLP traces), sent with the metric summaries. */
  spans?: { flush(windowStart: number, windowEnd: number): SpanSummary[] };
  /** The full-log store: made durable before the windows of its lines are (a restart must not find a window without its lines). */
  store?: { flush(): Promise<void>; backlog(): Promise<void> | undefined };
  uplink: {
    submitGroup(
      items: ReadonlyArray<{ draft: BatchDraft; priorityClass: PriorityClassValue; backlog?: boolean }>,
      options?: { cursor?: Buffer },
    ): Promise<unknown>;
    /** Takes the bytes sent since the previous call: call it once per batch that reports them. */
    takeHealth(): Pick<NodeHealth, 'uplinkBytes' | 'queueBatches' | 'queueBytes' | 'budgetLeftBytes' | 'degradeLevel'>;
    /** Where reading stood at the last durable seal (of this run or the previous one). */
    cursor(): Buffer | undefined;
    /** Makes a cursor durable on its own (the very first start, before anything was sealed). */
    saveCursor(cursor: Buffer): Promise<void>;
  };
  drops: DropCounter;
  /** The shed level under memory pressure (runtime/memory-pressure.ts: 1 slows reading, 3 withholds class 3); 0 = none. */
  shedLevel?: () => number;
  process: { cpuPct(): number; rssBytes(): number };
  now: () => number;
  log: Logger;
}

export interface StopOptions {
  /**
   * Seal what can be sealed once the sources have stopped: the metrics of the current partial
   * window, the log windows that are complete, and every open window of generated lines (which
   * cannot be read again). Open windows of file lines stay open: the cursor makes the next start
   * read their lines again, so they are sealed whole then.
   */
  seal?: boolean;
}

export interface Collector {
  start(): Promise<void>;
  /** Seals the current window now, whole or not (tests). */
  flush(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
}

export function createCollector(p: CollectorParts): Collector {
  const containers = p.containers;
  const lateness = p.logs.lateness;
  const sealDelay = p.sealDelayMs ?? 0;
  let metricsRaw = 0;
  /** End of the open metric window; closed windows wait for the next seal. */
  let metricEnd = Math.floor(p.now() / p.windowMs) * p.windowMs + p.windowMs;
  let closedMetrics: Array<{ start: number; end: number; fine: MetricSummary[] }> = [];
  let pendingEvents: ContainerEvent[] = [];
  let eventTimer: NodeJS.Timeout | undefined;
  const timers: AlignedTimer[] = [];
  // Decided at each tier boundary, so that a tier period is sent either as fine windows or as one
  // coarse window, never both (the ingester would count it twice) and never neither.
  let coarseMetrics = false;
  let sealing: Promise<void> | undefined;
  let lastSeal = p.now();
  /**
   * The boundary the last seal tick sealed up to (before the first, the one of the tick before
   * the start). The seals ready() starts seal no log window past it: a live window goes with the
   * tick's seal, its metrics and logs in one window at the node's offset. Sealed by the reader
   * about a second after its end and the lateness bound, it left as a second window before the
   * tick's, and every gateway's logs left at the same second whatever its offset. A backlog's
   * windows are older, so they are sealed as reading goes all the same.
   */
  let logsUpTo = Math.floor((p.now() - lateness - sealDelay) / p.windowMs) * p.windowMs;
  /** The seal ready() could not start yet (one started less than BACKLOG_SEAL_EVERY_MS ago), due when it may. */
  let trailingSeal: NodeJS.Timeout | undefined;
  /** When the reader last called ready(): lines it handed on since a seal started are not in that seal. */
  let lastReady = -Infinity;
  /** A summary left out (not_representable) was logged, and every pass since left one out. */
  let refusalTold = false;
  let cursorSaved = p.uplink.cursor() !== undefined;

  const report = (what: string) => (err: unknown) => {
    p.drops.drop({ stage: 'uplink.submit', reason: 'rejected', container: '' }, 1);
    p.log.error(what, { code: (err as { code?: string }).code, err: (err as Error).message });
  };

  /** A batch's health; the uplink's part (`h`, bytes since the previous batch that took them) goes in one batch only, so sums are right centrally. */
  const health = (h: ReturnType<CollectorParts['uplink']['takeHealth']>, rawBytes: number): NodeHealth => {
    return {
      ...h,
      rawBytes,
      cpuPct: p.process.cpuPct(),
      rssBytes: p.process.rssBytes(),
      agentVersion: p.agentVersion,
    };
  };

  /**
   * Closes every metric window that ended at or before `t`. More than MAX_EMPTY_WINDOWS windows at
   * once means no scrape ran in those between (a clock stepped forward: a gateway that booted with
   * a stale clock and then synced; or a process that was stopped): the open window is closed and
   * the one of `t` opens, without a batch for each window between. A gateway two weeks off sent
   * 20,160 batches of nothing but a heartbeat in one group, and one that booted at 1970 ran out of
   * memory making them.
   */
  const closeMetrics = (t: number) => {
    if (t >= metricEnd + MAX_EMPTY_WINDOWS * p.windowMs) {
      restartMetricsAt(t);
      p.log.warn('the wall clock went forward past several windows; metric windows start again at its new time', {
        at: new Date(t).toISOString(),
      });
    }
    while (metricEnd <= t) {
      closeAtEnd();
      metricEnd += p.windowMs;
    }
  };

  /** Closes the open metric window at its end. */
  const closeAtEnd = () => {
    closedMetrics.push({ start: metricEnd - p.windowMs, end: metricEnd, fine: p.downsampler.flush(metricEnd) });
  };

  /**
   * Closes the open metric window at `t`, before its end (a stop or a flush); at its end when the
   * clock was stepped back into it or before it since the last scrape (an end before the start is
   * refused by the codec, and the whole group with it).
   */
  const closeOpenMetrics = (t: number) => {
    const start = metricEnd - p.windowMs;
    const end = t > start ? t : metricEnd;
    closedMetrics.push({ start, end, fine: p.downsampler.flush(end, start) });
  };

  /**
   * A scrape tick before the open window's start: the wall clock was stepped back (NTP correcting a
   * clock that ran ahead). The open window is closed as it stands and windows start again at the
   * new time; waiting for the clock to reach its end again held every metric for as long as the
   * step (an hour's step: an hour of metrics in one window, sent an hour late).
   */
  const restartMetricsAfterStepBack = (tick: number) => {
    if (tick >= metricEnd - p.windowMs) return;
    restartMetricsAt(tick);
    p.log.warn('the wall clock went back; metric windows start again at its new time', {
      tick: new Date(tick).toISOString(),
    });
  };

  /** Closes the open metric window at its end and opens the one of `t` (a clock step). */
  const restartMetricsAt = (t: number) => {
    closeAtEnd();
    metricEnd = Math.floor(t / p.windowMs) * p.windowMs + p.windowMs;
  };

  /** Per metric source, the names its latest scrape listed (a failed scrape leaves its previous list). */
  const listedBy = new Map<string, Set<string>>();
  /**
   * Containers no source lists any more (exited, removed) are forgotten: `containers` was every
   * container seen since start, and every window's heartbeat carries all of it.
   */
  const forgetUnlisted = () => {
    for (const name of containers.keys()) {
      let listed = false;
      for (const names of listedBy.values()) if (names.has(name)) listed = true;
      if (!listed) containers.delete(name);
    }
  };

  const scrape = async (tick: number) => {
    restartMetricsAfterStepBack(tick);
    closeMetrics(tick);
    for (const src of p.metricSources) {
      try {
        const r = await src.scrape(tick);
        p.downsampler.ingest(src.name, r);
        listedBy.set(src.name, new Set(r.containers.map((c) => c.name)));
        for (const c of r.containers) {
          const fitted = fitContainer(c);
          if (fitted !== c) p.drops.drop({ stage: 'sources.containers', reason: 'labels_cut', container: c.name });
          containers.set(c.name, fitted);
        }
        metricsRaw += r.rawBytes ?? r.containers.length * RAW_STATS_BYTES_PER_CONTAINER;
      } catch (err) {
        // The source's own retry/backoff logs the details; here only the gap matters.
        p.downsampler.ingest(src.name, { samples: [] });
        p.drops.drop({ stage: `sources.${src.name}`, reason: 'scrape_failed', container: '' });
        p.log.warn('scrape failed', {
          source: src.name,
          code: (err as { code?: string }).code,
          err: (err as Error).message,
        });
      }
    }
    forgetUnlisted();
  };

  /** Metrics of a closed window as they are sent: fine, or the coarse tier while degraded (decided per tier period). */
  const metricsOf = (w: { end: number; fine: MetricSummary[] }, level: number): MetricSummary[] => {
    let metrics = coarseMetrics ? [] : w.fine;
    if (p.tiers) {
      const { tierMs, roller } = p.tiers;
      const closed = roller.push(w.fine, w.end).filter((s) => s.end - s.start === tierMs);
      if (w.end % tierMs === 0) {
        if (coarseMetrics) metrics = closed;
        coarseMetrics = level >= DEGRADE.coarseMetrics;
      }
    }
    return metrics;
  };

  /** Where every file's reading may resume once the windows sealed so far are durable. */
  const cursor = (): Buffer => {
    const files: Cursor['files'] = {};
    for (const s of p.logSources)
      for (const pos of s.positions()) {
        const open = p.logs.openPosition(pos.path);
        const at = open ?? pos;
        files[pos.path] = [at.inode, at.offset];
      }
    return encodeCursor({ files, horizons: p.logs.cursorState().horizons });
  };

  const readTime = (container: string): number | undefined => {
    let min: number | undefined;
    for (const s of p.logSources) {
      const w = s.watermark(container);
      if (w !== undefined && (min === undefined || w < min)) min = w;
    }
    return min;
  };

  /**
   * Seals what is ready (or, with `all`, the open windows `all` selects) together with the metric
   * windows closed up to `metricsUpTo`, into one outbox group carrying the cursor. The store is
   * made durable first: a window must never be on disk without its lines.
   */
  const sealPass = (o: { metricsUpTo?: number; all?: (container: string) => boolean } = {}): Promise<void> => {
    const run = async () => {
      const now = p.now();
      lastSeal = now;
      if (o.metricsUpTo !== undefined) {
        closeMetrics(o.metricsUpTo);
        logsUpTo = o.metricsUpTo;
      }
      const sealed = p.logs.seal(readTime, logsUpTo);
      const windows = o.all ? [...sealed, ...p.logs.sealAll(o.all)] : sealed;
      const metricWindows = o.metricsUpTo === undefined ? [] : closedMetrics;
      if (o.metricsUpTo !== undefined) closedMetrics = [];
      if (windows.length === 0 && metricWindows.length === 0) return;
      const at = cursor();
      const uplinkHealth = p.uplink.takeHealth();
      const level = uplinkHealth.degradeLevel;
      const byStart = new Map<number, LogPipelineWindow>();
      for (const w of windows) {
        const same = byStart.get(w.start);
        if (same === undefined) byStart.set(w.start, w);
        else byStart.set(w.start, merge(same, w));
      }
      const drafts: Array<{ draft: BatchDraft; live: boolean }> = [];
      let first = true;
      let refusedNow = false;
      // Said once until a pass leaves none out: an application sends such a point at every export.
      const refused = (row: MetricSummary | SpanSummary, detail: string) => {
        refusedNow = true;
        if (refusalTold) return;
        refusalTold = true;
        // Which application to fix: its container and series, cut short (they may be what was refused).
        p.log.warn(
          'a summary the protocol cannot carry was left out (metrics.summary, spans.summary: not_representable)',
          {
            container: fitText(row.container, 256),
            name: fitText('metric' in row ? row.metric : row.operation, 256),
            detail,
          },
        );
      };
      const draftOf = (
        start: number,
        end: number,
        logs: LogPipelineWindow | undefined,
        metrics: MetricSummary[] | undefined,
      ) => {
        // A window of the past (a backlog, or a container that lagged) queues behind the live ones.
        const live = metrics !== undefined || end >= now - p.windowMs - lateness;
        const draft: BatchDraft = {
          node: p.node,
          sentAt: now,
          windowStart: start,
          windowEnd: end,
          containers: metrics !== undefined ? [...containers.values()] : [],
          metrics: representable(
            [...(metrics ?? []), ...(logs?.metrics ?? [])],
            validateMetricSummary,
            'metrics.summary',
            p.drops,
            refused,
          ),
          // Before `drops`: what these leave out is counted in this batch's drops.
          spans:
            metrics !== undefined && p.spans
              ? representable(p.spans.flush(start, end), validateSpanSummary, 'spans.summary', p.drops, refused)
              : undefined,
          ...carriableTimes(logs?.logs ?? [], logs?.templates ?? [], start, p.drops),
          events: [],
          drops: first ? p.drops.take() : [],
          health: health(
            first ? uplinkHealth : { ...uplinkHealth, uplinkBytes: 0 },
            (logs?.rawBytes ?? 0) + (metrics !== undefined ? takeMetricsRaw() : 0),
          ),
        };
        first = false;
        drafts.push({ draft, live });
      };
      const starts = new Set([...byStart.keys()]);
      for (const m of metricWindows) starts.delete(m.start);
      for (const start of [...starts].sort((a, b) => a - b)) {
        const w = byStart.get(start) as LogPipelineWindow;
        draftOf(w.start, w.end, w, undefined);
      }
      for (const m of metricWindows) draftOf(m.start, m.end, byStart.get(m.start), metricsOf(m, level));
      // Only a pass with metric windows carries the summaries that could be left out.
      if (metricWindows.length > 0 && !refusedNow) refusalTold = false;
      const items: Array<{ draft: BatchDraft; priorityClass: PriorityClassValue; backlog: boolean }> = [];
      for (const { draft, live } of drafts) {
        const split = splitByPriority(draft);
        // The summaries batch last: each window's group of classes ends with its heartbeat, and the
        // pass's last record (which carries the cursor) is the most valuable one, never evicted first.
        split.push(split.shift() as (typeof split)[number]);
        for (const { draft: d, priorityClass } of split) {
          if (priorityClass === PriorityClass.infoSamples && (p.shedLevel?.() ?? 0) >= 3) {
            p.drops.drop(
              { stage: 'memory.shed', reason: PRIORITY_CLASS_REASONS[priorityClass], container: '' },
              d.logs.length + d.templates.length,
            );
            continue;
          }
          if (priorityClass >= withheldFrom(level)) {
            p.drops.drop(
              { stage: 'uplink.degrade', reason: PRIORITY_CLASS_REASONS[priorityClass], container: '' },
              d.logs.length + d.templates.length,
            );
            continue;
          }
          items.push({ draft: d, priorityClass, backlog: !live });
        }
      }
      await p.store?.flush().catch((err: Error) => p.log.error('log store write failed', { err: err.message }));
      await p.uplink
        .submitGroup(items, { cursor: at })
        .then(() => (cursorSaved = true), report('windows not accepted by the uplink'));
    };
    const next = (sealing ?? Promise.resolve()).then(run);
    const mine: Promise<void> = next
      .catch((err: unknown) => p.log.error('seal failed', { err: (err as Error).stack }))
      .finally(() => {
        if (sealing === mine) sealing = undefined;
      });
    sealing = mine;
    return mine;
  };

  const takeMetricsRaw = () => {
    const n = metricsRaw;
    metricsRaw = 0;
    return n;
  };

  const sealTick = async (tick: number) => {
    const boundary = tick - lateness - sealDelay;
    // The last lines written before the boundary are read now, so the live window is complete.
    await Promise.all(p.logSources.map((s) => s.catchUp()));
    await sealPass({ metricsUpTo: boundary });
  };

  const flushEvents = () => {
    eventTimer = undefined;
    if (pendingEvents.length === 0) return;
    const events = pendingEvents;
    pendingEvents = [];
    const t = p.now();
    void p.uplink
      .submitGroup([
        {
          draft: {
            node: p.node,
            sentAt: t,
            windowStart: t,
            windowEnd: t,
            containers: [],
            metrics: [],
            logs: [],
            templates: [],
            events,
            drops: [],
            health: health(p.uplink.takeHealth(), 0),
          },
          priorityClass: PriorityClass.summaries,
        },
      ])
      .catch(report('events not accepted by the uplink'));
  };

  p.events.deliverTo((e) => {
    pendingEvents.push(e);
    eventTimer ??= setTimeout(flushEvents, EVENT_FLUSH_DELAY_MS);
  });

  /**
   * Where the log sources hand their lines. Reading waits while a seal is being written and while
   * the store lags; finished backlog windows are sealed as reading goes, so what is held between
   * the files and the outbox stays bounded whatever the backlog.
   */
  const sink: LogSink = {
    push: (line) => p.logs.push(line),
    ready: () => {
      lastReady = p.now();
      if (sealing === undefined && cursorSaved && p.now() - lastSeal >= BACKLOG_SEAL_EVERY_MS) return sealPass();
      // What was read just now is sealed within BACKLOG_SEAL_EVERY_MS all the same: this may be the
      // last call (a seal being written, a tick's, may have looked before those lines).
      sealLater();
      if (sealing !== undefined) return sealing;
      // The very first start has no cursor yet: save where reading starts before the first line is read.
      if (!cursorSaved) return initialCursor();
      if ((p.shedLevel?.() ?? 0) >= 1) return new Promise<void>((resolve) => setTimeout(resolve, SHED_READ_PAUSE_MS));
      return p.store?.backlog();
    },
  };

  let savingCursor: Promise<void> | undefined;
  const initialCursor = () =>
    (savingCursor ??= p.uplink.saveCursor(cursor()).then(
      () => void (cursorSaved = true),
      (err: Error) => {
        savingCursor = undefined;
        p.log.error('reading positions not saved', { err: err.message });
      },
    ));

  /**
   * A seal BACKLOG_SEAL_EVERY_MS after the last one started, unless one that started since then
   * began after the reader's last ready() (and so saw every line handed on).
   * The reader calls ready() after every chunk, the last one included, but a file read to its end
   * and idle (a backlog's) then rests: no more chunks, no more calls. Without this, the windows of
   * the lines read since the last seal waited for the next seal tick, up to a window (plus the
   * lateness bound and the node's offset) later: a 200 MiB backlog's last windows arrived 15-60 s
   * after its reading ended (issue 15, `logs.backlog_warn_verbatim_ratio`).
   */
  const sealLater = () => {
    if (trailingSeal !== undefined) return;
    trailingSeal = setTimeout(
      () => {
        trailingSeal = undefined;
        // Only a seal that started after the reader's last ready() saw every line read: one that
        // started between the arming and now (a seal tick) may not have, and no further call comes
        // for a file that rests after its last chunk. The very first cursor goes first.
        if (lastReady >= lastSeal) void Promise.resolve(savingCursor).then(() => sealPass());
      },
      Math.max(0, lastSeal + BACKLOG_SEAL_EVERY_MS - p.now()),
    );
  };

  return {
    async start() {
      for (const s of p.logSources) s.start(sink);
      const onError = (err: unknown) => p.log.error('collector tick failed', { err: (err as Error).stack });
      timers.push(startAlignedTimer(p.scrapeIntervalMs, scrape, onError, p.now));
      timers.push(startAlignedTimer(p.windowMs, sealTick, onError, p.now, lateness + sealDelay));
      p.log.info('collector started', {
        node: p.node,
        scrapeIntervalMs: p.scrapeIntervalMs,
        windowMs: p.windowMs,
        sealDelayMs: sealDelay,
        sources: p.metricSources.map((s) => s.name),
      });
    },
    async flush() {
      flushEvents();
      const now = p.now();
      closeOpenMetrics(now);
      await sealPass({ metricsUpTo: now, all: () => true });
    },
    async stop(options = {}) {
      await Promise.all(timers.map((t) => t.stop()));
      for (const s of p.logSources) await s.stop();
      clearTimeout(trailingSeal);
      trailingSeal = undefined;
      flushEvents();
      if (eventTimer) clearTimeout(eventTimer);
      // A trailing seal waiting for the very first cursor (sealLater) is started by then.
      await savingCursor;
      await sealing;
      // After the sources stopped, so that no line arrives after the seal and stays unsent.
      if (options.seal) {
        const now = p.now();
        closeOpenMetrics(now);
        // Lines that cannot be read again are sealed now; file lines wait for the next start (see StopOptions).
        const replayable = (c: string) => p.logSources.some((s) => s.replayable && s.watermark(c) !== undefined);
        await sealPass({ metricsUpTo: now, all: (c) => !replayable(c) });
      }
      for (const s of p.metricSources) await s.close();
    },
  };
}

/** Two seals of the same window (different containers' parts): one window. */
function merge(a: LogPipelineWindow, b: LogPipelineWindow): LogPipelineWindow {
  return {
    start: a.start,
    end: a.end,
    logs: [...a.logs, ...b.logs],
    templates: [...a.templates, ...b.templates],
    metrics: [...a.metrics, ...b.metrics],
    rawBytes: a.rawBytes + b.rawBytes,
  };
}
