/**
 * The collector's runtime: scrapes the metric sources on an aligned interval, feeds log lines
 * through the log pipeline as they arrive, and at every window boundary seals the window into
 * batches by priority class and hands them to the uplink. Events leave at once. Everything it
 * uses is passed in (see build-collector.ts for the production wiring), so tests and the fleet
 * simulator run the same runtime with other sources.
 */
import type { ContainerEvent, ContainerInfo, MetricSummary, NodeHealth, SpanSummary } from '@edge-telemetry/protocol';
import type { LogSource, MetricSource, RawLogLine, ScrapeResult } from './sources/types.js';
import type { LogPipelineWindow } from './transforms/logs/pipeline.js';
import { splitByPriority, type BatchDraft } from './batch/priority-classes.js';
import { PRIORITY_CLASS_REASONS, type PriorityClassValue } from './batch/priority-classes.js';
import type { DropCounter } from './batch/drops.js';
import { startAlignedTimer, type AlignedTimer } from './runtime/aligned-timer.js';
import type { Logger } from './runtime/logger.js';
import type { Mailbox } from './runtime/mailbox.js';

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

export interface CollectorParts {
  node: string;
  agentVersion: string;
  scrapeIntervalMs: number;
  windowMs: number;
  metricSources: MetricSource[];
  logSources: LogSource[];
  /** Container lifecycle events as the sources post them; each is sent at once (EVENT_FLUSH_DELAY_MS). */
  events: Pick<Mailbox<ContainerEvent>, 'deliverTo'>;
  /** What the latest scrapes said about each container (name, image, labels); the runtime fills it, the log stages read it. */
  containers: Map<string, ContainerInfo>;
  downsampler: {
    ingest(source: string, result: Pick<ScrapeResult, 'samples'>): void;
    flush(windowEnd: number): MetricSummary[];
  };
  /** Merges finished windows into the coarser tier sent while the uplink is degraded. */
  tiers:
    | { tierMs: number; roller: { push(windows: readonly MetricSummary[], windowEnd: number): MetricSummary[] } }
    | undefined;
  logs: { push(line: RawLogLine): void; flush(windowStart: number, windowEnd: number): LogPipelineWindow };
  /** Span summaries of the window (OTLP traces), sent with the metric summaries. */
  spans?: { flush(windowStart: number, windowEnd: number): SpanSummary[] };
  uplink: {
    submit(draft: BatchDraft, priorityClass: PriorityClassValue): Promise<unknown>;
    /** Takes the bytes sent since the previous call: call it once per batch that reports them. */
    takeHealth(): Pick<NodeHealth, 'uplinkBytes' | 'queueBatches' | 'queueBytes' | 'budgetLeftBytes' | 'degradeLevel'>;
  };
  drops: DropCounter;
  process: { cpuPct(): number; rssBytes(): number };
  now: () => number;
  log: Logger;
}

export interface StopOptions {
  /**
   * Seal the current partial window once the sources have stopped, so that what it holds so far
   * is in the outbox (on disk) before the process exits, and sent on the next start.
   */
  seal?: boolean;
}

export interface Collector {
  start(): Promise<void>;
  /** Seals the current window now (tests). */
  flush(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
}

export function createCollector(p: CollectorParts): Collector {
  const containers = p.containers;
  let rawBytes = 0;
  let windowStart = Math.floor(p.now() / p.windowMs) * p.windowMs;
  let pendingEvents: ContainerEvent[] = [];
  let eventTimer: NodeJS.Timeout | undefined;
  const timers: AlignedTimer[] = [];
  // Decided at each tier boundary, so that a tier period is sent either as fine windows or as one
  // coarse window, never both (the ingester would count it twice) and never neither.
  let coarseMetrics = false;

  const submit = (draft: BatchDraft, cls: PriorityClassValue) =>
    p.uplink.submit(draft, cls).catch((err: unknown) => {
      p.drops.drop({ stage: 'uplink.submit', reason: 'rejected', container: '' }, 1);
      p.log.error('batch not accepted by the uplink', {
        code: (err as { code?: string }).code,
        err: (err as Error).message,
      });
    });

  /** Uplink and raw bytes since the previous call: each batch reports its share once, so sums are right centrally. */
  const takeHealth = (): NodeHealth => {
    const h = {
      ...p.uplink.takeHealth(),
      rawBytes,
      cpuPct: p.process.cpuPct(),
      rssBytes: p.process.rssBytes(),
      agentVersion: p.agentVersion,
    };
    rawBytes = 0;
    return h;
  };

  const scrape = async (tick: number) => {
    for (const src of p.metricSources) {
      try {
        const r = await src.scrape(tick);
        p.downsampler.ingest(src.name, r);
        for (const c of r.containers) containers.set(c.name, c);
        rawBytes += r.rawBytes ?? r.containers.length * RAW_STATS_BYTES_PER_CONTAINER;
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
  };

  const sealWindow = async (windowEnd: number) => {
    const start = windowStart;
    windowStart = windowEnd;
    const logs = p.logs.flush(start, windowEnd);
    const nodeHealth = takeHealth();
    const level = nodeHealth.degradeLevel;
    const fine = p.downsampler.flush(windowEnd);
    let metrics = coarseMetrics ? [] : fine;
    if (p.tiers) {
      const { tierMs, roller } = p.tiers;
      const closed = roller.push(fine, windowEnd).filter((s) => s.end - s.start === tierMs);
      if (windowEnd % tierMs === 0) {
        if (coarseMetrics) metrics = closed;
        coarseMetrics = level >= DEGRADE.coarseMetrics;
      }
    }
    const draft: BatchDraft = {
      node: p.node,
      sentAt: p.now(),
      windowStart: start,
      windowEnd,
      containers: [...containers.values()],
      metrics: [...metrics, ...logs.metrics],
      logs: logs.logs,
      templates: logs.templates,
      events: [],
      drops: p.drops.take(),
      spans: p.spans?.flush(start, windowEnd),
      health: nodeHealth,
    };
    for (const { draft: d, priorityClass } of splitByPriority(draft)) {
      if (priorityClass >= withheldFrom(level)) {
        p.drops.drop(
          { stage: 'uplink.degrade', reason: PRIORITY_CLASS_REASONS[priorityClass], container: '' },
          d.logs.length + d.templates.length,
        );
        continue;
      }
      await submit(d, priorityClass);
    }
  };

  const flushEvents = () => {
    eventTimer = undefined;
    if (pendingEvents.length === 0) return;
    const events = pendingEvents;
    pendingEvents = [];
    const t = p.now();
    void submit(
      {
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
        health: takeHealth(),
      },
      0,
    );
  };

  p.events.deliverTo((e) => {
    pendingEvents.push(e);
    eventTimer ??= setTimeout(flushEvents, EVENT_FLUSH_DELAY_MS);
  });

  const onLine = (line: RawLogLine) => {
    rawBytes += line.rawBytes;
    p.logs.push(line);
  };

  return {
    async start() {
      for (const s of p.logSources) await s.start(onLine);
      const onError = (err: unknown) => p.log.error('collector tick failed', { err: (err as Error).stack });
      timers.push(startAlignedTimer(p.scrapeIntervalMs, scrape, onError, p.now));
      timers.push(startAlignedTimer(p.windowMs, sealWindow, onError, p.now));
      p.log.info('collector started', {
        node: p.node,
        scrapeIntervalMs: p.scrapeIntervalMs,
        windowMs: p.windowMs,
        sources: p.metricSources.map((s) => s.name),
      });
    },
    async flush() {
      flushEvents();
      await sealWindow(p.now());
    },
    async stop(options = {}) {
      await Promise.all(timers.map((t) => t.stop()));
      for (const s of p.logSources) await s.stop();
      flushEvents();
      if (eventTimer) clearTimeout(eventTimer);
      // After the sources stopped, so that no line arrives after the seal and stays unsent.
      if (options.seal)
        await sealWindow(p.now()).catch((err: Error) => p.log.error('final seal failed', { err: err.message }));
      for (const s of p.metricSources) await s.close();
    },
  };
}
