import {
  LogLevel,
  type ContainerInfo,
  type LogEvent,
  type LogLevelValue,
  type LogTemplate,
  type MetricSummary,
} from '@edge-telemetry/protocol';
import type { RawLogLine } from '../../sources/types.js';
import { DuplicateCollapser } from '../dedup/collapser.js';
import { LineFilter } from '../filter/line-filter.js';
import { MultilineJoiner } from '../parse/multiline.js';
import { messageStart } from '../parse/header.js';
import { parseLine } from '../parse/parse-line.js';
import { Redactor, type RedactionCounts } from '../redact/redactor.js';
import { TemplateMiner } from '../templates/miner.js';
import { WILDCARD } from '../templates/tokenize.js';
import { TokenBucket } from '../throttle/token-bucket.js';
import { levelSummaries } from './level-metrics.js';
import type { ContainerLogSettings, LogPipelineOptions } from './options.js';
import { glob, settingsFor } from './select.js';
import type { DropReport } from '../../batch/drops.js';

/** One joined line as the container wrote it (unredacted), with its parsed time and level: what the full-log store keeps. */
export interface LogRecord {
  ts: number;
  container: string;
  stream: 'stdout' | 'stderr';
  level: LogLevelValue;
  line: string;
}

export interface LogPipelineDeps {
  now(): number;
  /** Receives every drop as it happens; the collector's DropCounter sums them per (stage, reason, container) until the next batch. */
  report: DropReport;
  /** Name, image and labels of a container, to select its settings; unknown containers get the defaults. */
  describe?(container: string): Pick<ContainerInfo, 'name' | 'image' | 'labels'> | undefined;
  /** Every joined line, before filtering (the local full-log store). */
  onRecord?(record: LogRecord): void;
}

/**
 * A time-boxed debug (remote configuration): lines at `level` and above of the containers matching
 * `containers` (globs; empty: all) are shipped verbatim until `until` (this pipeline's clock),
 * while their message bytes fit `extraBytes`. Only lines that the container's own settings would
 * not have shipped verbatim count against the allowance.
 */
export interface DebugWindow {
  until: number;
  level: LogLevelValue;
  extraBytes: number;
  containers: readonly string[];
}

/** What a debug window shipped: extra lines and their message bytes, and the lines it could not (allowance spent). */
export interface DebugUse {
  lines: number;
  bytes: number;
  refused: number;
}

export interface LogPipelineWindow {
  /** Lines at or above each container's verbatim level, redacted, duplicates collapsed. */
  logs: LogEvent[];
  templates: LogTemplate[];
  /** Lines per container and level (`logs.<level>_lines`), counted before filtering. */
  metrics: MetricSummary[];
}

export interface LogPipelineStats {
  linesIn: number;
  eventsIn: number;
  redactions: RedactionCounts;
  clusters: number;
  evictions: number;
}

interface ContainerState {
  settings: ContainerLogSettings;
  filter: LineFilter;
  minLevel: LogLevelValue;
  verbatim: LogLevelValue;
  bucket: TokenBucket;
  dedup: DuplicateCollapser<LogEvent>;
  levels: number[];
  /** Lines dropped below the minimum level this window (the commonest drop, kept off the keyed map). */
  belowLevel: number;
  active: boolean;
}

/**
 * The log path of one node: raw lines -> multi-line join -> parse -> redact -> filter ->
 * dedup -> throttle -> template, with per-window output. Pure over plain data apart from the
 * injected clock and sinks; one instance serves all containers.
 */
export class LogPipeline {
  private readonly joiner: MultilineJoiner;
  private readonly redactor: Redactor;
  private readonly miner: TemplateMiner;
  private readonly containers = new Map<string, ContainerState>();
  private templates = new Map<string, LogTemplate>();
  /** When each template last had samples shipped (node clock), for templates.sampleIntervalMs. */
  private readonly sampledAt = new Map<string, number>();
  /** Template ids merged into a template that has had no row since (live id -> merged ids): listed on its next row. */
  private readonly pendingMerges = new Map<string, string[]>();
  private logs: LogEvent[] = [];
  private readonly redactions: RedactionCounts = {};
  private linesIn = 0;
  private eventsIn = 0;
  private lastSweep: number;
  /** Per-container settings: the options' own until reconfigure() replaces them. */
  private selection: Pick<LogPipelineOptions, 'defaults' | 'containers'>;
  private debug: { window: DebugWindow; match: RegExp[]; use: DebugUse } | undefined;

  constructor(
    private readonly options: LogPipelineOptions,
    private readonly deps: LogPipelineDeps,
  ) {
    this.selection = { defaults: options.defaults, containers: options.containers };
    this.joiner = new MultilineJoiner(options.multiline);
    this.redactor = new Redactor(options.redact);
    this.miner = new TemplateMiner(options.templates);
    this.lastSweep = deps.now();
  }

  push(raw: RawLogLine): void {
    this.linesIn++;
    const now = this.deps.now();
    for (const ev of this.joiner.push(raw, now)) this.process(ev);
    if (now - this.lastSweep >= this.options.multiline.flushAfterMs) this.tick(now);
  }

  /** Releases multi-line events that waited past the flush timeout. */
  tick(now: number): void {
    this.lastSweep = now;
    for (const ev of this.joiner.flush(now)) this.process(ev);
  }

  /**
   * Closes the window. Held multi-line events are released whole (a trace being written at the
   * very boundary may be cut in two; waiting instead would delay every window's last line).
   */
  flush(windowStart: number, windowEnd: number): LogPipelineWindow {
    this.lastSweep = this.deps.now();
    for (const ev of this.joiner.flush(this.lastSweep, true)) this.process(ev);
    const metrics: MetricSummary[] = [];
    for (const [name, st] of this.containers) {
      const held = st.dedup.take();
      if (held !== undefined) this.ship(name, st, held);
      metrics.push(...levelSummaries(name, st.levels, windowStart, windowEnd));
      if (st.belowLevel > 0) this.drop('logs.filter', 'below_level', name, st.belowLevel);
      st.belowLevel = 0;
      if (!st.active) this.containers.delete(name);
      else {
        st.levels.fill(0);
        st.active = false;
      }
    }
    const templates = coarsenTimes(this.foldMerged(), this.options.templateTimeResolutionMs);
    this.noteMerges(templates);
    this.noteSampled(templates);
    for (const e of this.logs) e.templateId = this.miner.resolve(e.templateId);
    const logs = this.logs;
    this.logs = [];
    this.templates = new Map();
    return { logs, templates, metrics };
  }

  /**
   * The miner may have merged clusters during the window: entries of merged-away ids are folded
   * into their survivor, so that each group is reported once, under its live id and template.
   */
  private foldMerged(): LogTemplate[] {
    const out = new Map<string, LogTemplate>();
    for (const t of this.templates.values()) {
      const id = this.miner.resolve(t.id);
      if (id === t.id && !out.has(id)) {
        out.set(id, t);
        continue;
      }
      const template = this.miner.templateOf(id) ?? t.template;
      // Samples taken before a merge have fewer parameters than the merged template has wildcards.
      const wildcards = template.split(WILDCARD).length - 1;
      const samples = t.samples.filter((x) => x.params.length === wildcards);
      const into = out.get(id);
      if (into === undefined) {
        out.set(id, { ...t, id, template, samples });
        continue;
      }
      into.template = template;
      into.samples = into.samples.filter((x) => x.params.length === wildcards);
      into.count += t.count;
      if (t.level > into.level) into.level = t.level;
      if (t.firstSeen < into.firstSeen) into.firstSeen = t.firstSeen;
      if (t.lastSeen > into.lastSeen) into.lastSeen = t.lastSeen;
      for (const sample of samples)
        if (into.samples.length < this.options.templates.maxSamples) into.samples.push(sample);
    }
    return [...out.values()];
  }

  /**
   * Lists on a template's row the ids the miner merged into it since its previous row
   * (LogTemplate.merged), so that the receiver shows their earlier rows as this template's. A
   * survivor with no row this window gets them on its next; one evicted meanwhile drops them.
   */
  private noteMerges(templates: LogTemplate[]): void {
    for (const { from, into } of this.miner.takeMerges())
      this.pendingMerges.set(into, [...(this.pendingMerges.get(into) ?? []), from]);
    for (const [into, from] of [...this.pendingMerges]) {
      const live = this.miner.resolve(into);
      if (live === into) continue;
      this.pendingMerges.delete(into);
      this.pendingMerges.set(live, [...(this.pendingMerges.get(live) ?? []), ...from]);
    }
    for (const t of templates) {
      const from = this.pendingMerges.get(t.id);
      if (from === undefined) continue;
      t.merged = from;
      this.pendingMerges.delete(t.id);
    }
    for (const into of this.pendingMerges.keys())
      if (this.miner.templateOf(into) === undefined) this.pendingMerges.delete(into);
  }

  private noteSampled(templates: readonly LogTemplate[]): void {
    const now = this.deps.now();
    const interval = this.options.templates.sampleIntervalMs;
    for (const [id, at] of this.sampledAt) if (now - at >= interval) this.sampledAt.delete(id);
    if (interval > 0) for (const t of templates) if (t.samples.length > 0) this.sampledAt.set(t.id, now);
  }

  /**
   * New per-container settings (defaults and overrides) without a restart: each known container's
   * filter, levels, throttle and dedup are rebuilt at once (a line it held for dedup is shipped
   * under the old settings first); the next line is judged by the new ones.
   */
  reconfigure(selection: Pick<LogPipelineOptions, 'defaults' | 'containers'>): void {
    this.selection = { defaults: selection.defaults, containers: selection.containers };
    const now = this.deps.now();
    for (const [name, st] of this.containers) {
      const held = st.dedup.take();
      if (held !== undefined) this.ship(name, st, held);
      Object.assign(st, this.settingsState(name, now));
    }
  }

  /** Starts (or, with undefined, ends) a time-boxed debug; it also ends by itself at `until`. */
  setDebug(window: DebugWindow | undefined): void {
    this.debug =
      window === undefined
        ? undefined
        : { window, match: window.containers.map(glob), use: { lines: 0, bytes: 0, refused: 0 } };
  }

  /** The debug in force and what it shipped so far; undefined when none is (ended, by time or by setDebug). */
  debugUse(): DebugUse | undefined {
    return this.debugLevel('', this.deps.now(), true) === undefined
      ? undefined
      : { ...(this.debug as { use: DebugUse }).use };
  }

  /** The debug level for a container now, ending the debug when its time is up. */
  private debugLevel(container: string, now: number, anyContainer = false): LogLevelValue | undefined {
    const d = this.debug;
    if (d === undefined) return undefined;
    if (now >= d.window.until) {
      this.debug = undefined;
      return undefined;
    }
    if (!anyContainer && d.match.length > 0 && !d.match.some((r) => r.test(container))) return undefined;
    return d.window.level;
  }

  stats(): LogPipelineStats {
    return {
      linesIn: this.linesIn,
      eventsIn: this.eventsIn,
      redactions: { ...this.redactions },
      clusters: this.miner.clusterCount,
      evictions: this.miner.evictions,
    };
  }

  private process(ev: RawLogLine): void {
    this.eventsIn++;
    const st = this.state(ev.container, ev.ts);
    st.active = true;
    const p = parseLine(ev.line, ev.stream, ev.ts, this.options.parse);
    (st.levels[p.level] as number)++;
    this.deps.onRecord?.({ ts: p.ts, container: ev.container, stream: ev.stream, level: p.level, line: ev.line });
    if (p.level < st.minLevel) {
      const debug = this.debugLevel(ev.container, this.deps.now());
      if (debug === undefined || p.level < debug) {
        st.belowLevel++;
        return;
      }
    }
    const message = this.redactor.redact(p.message, this.redactions);
    // A debug line below the container's own minimum still meets its include and exclude patterns.
    const verdict = st.filter.check(Math.max(p.level, st.minLevel) as LogLevelValue, message);
    if (verdict !== undefined) return this.drop('logs.filter', verdict, ev.container, 1);
    for (const k in p.fields) {
      const kv = `${k}=${p.fields[k] as string}`;
      const red = this.redactor.redact(kv, this.redactions);
      if (red !== kv) p.fields[k] = red.slice(k.length + 1);
    }
    const e: LogEvent = {
      ts: p.ts,
      container: ev.container,
      level: p.level,
      message,
      stream: ev.stream,
      repeat: 1,
      templateId: '',
      fields: p.fields,
    };
    const done = st.dedup.push(e);
    if (done !== undefined) this.ship(ev.container, st, done);
  }

  private ship(container: string, st: ContainerState, e: LogEvent): void {
    if (!st.bucket.take(e.ts)) return this.drop('logs.throttle', 'rate_limited', container, e.repeat);
    const verbatim = e.level >= st.verbatim || this.debugVerbatim(container, e);
    // A line below the container's own minimum came in for a debug whose allowance it did not fit (counted there).
    if (!verbatim && e.level < st.minLevel) return;
    // The template is the message's: a header left in it (a plain-text line's level, thread,
    // logger, pid, host) would split one event by values that vary independently of it.
    const m = this.miner.match(e.message.slice(messageStart(e.message)), container);
    e.templateId = m.id;
    let t = this.templates.get(m.id);
    if (t === undefined) {
      if (this.templates.size >= this.options.maxTemplatesPerWindow)
        this.drop('logs.templates', 'cap_templates', container, e.repeat);
      else {
        t = {
          container,
          id: m.id,
          template: m.template,
          level: e.level,
          count: 0,
          firstSeen: e.ts,
          lastSeen: e.ts,
          samples: [],
        };
        this.templates.set(m.id, t);
      }
    }
    if (t !== undefined) {
      t.template = m.template;
      t.count += e.repeat;
      if (e.level > t.level) t.level = e.level;
      if (e.ts < t.firstSeen) t.firstSeen = e.ts;
      if (e.ts > t.lastSeen) t.lastSeen = e.ts;
      // Lines shipped verbatim need no samples; the others get them when their interval is due.
      if (!verbatim && t.samples.length < this.options.templates.maxSamples && !this.sampledAt.has(m.id))
        t.samples.push({ ts: e.ts, params: this.miner.params() });
    }
    if (verbatim) {
      if (this.logs.length >= this.options.maxLogsPerWindow)
        this.drop('logs.verbatim', 'cap_logs', container, e.repeat);
      else this.logs.push(e);
    }
  }

  /**
   * Whether a line the container's settings would template goes verbatim for a debug: it must be
   * at the debug's level and fit what is left of its byte allowance (spent lines are counted).
   */
  private debugVerbatim(container: string, e: LogEvent): boolean {
    const level = this.debugLevel(container, this.deps.now());
    const d = this.debug;
    if (level === undefined || d === undefined || e.level < level) return false;
    const bytes = Buffer.byteLength(e.message);
    if (d.use.bytes + bytes > d.window.extraBytes) {
      d.use.refused += e.repeat;
      this.drop('logs.debug', 'allowance_spent', container, e.repeat);
      return false;
    }
    d.use.bytes += bytes;
    d.use.lines += e.repeat;
    return true;
  }

  private settingsState(container: string, now: number) {
    const info = this.deps.describe?.(container) ?? { name: container, image: '', labels: {} };
    const settings = settingsFor(info, this.selection.defaults, this.selection.containers);
    return {
      settings,
      filter: new LineFilter(settings.filter),
      minLevel: LogLevel[settings.filter.minLevel],
      verbatim: LogLevel[settings.verbatimLevel],
      bucket: new TokenBucket(settings.throttle, now),
      dedup: new DuplicateCollapser<LogEvent>(settings.dedup),
    };
  }

  private state(container: string, now: number): ContainerState {
    let st = this.containers.get(container);
    if (st === undefined) {
      st = { ...this.settingsState(container, now), levels: [0, 0, 0, 0, 0, 0], belowLevel: 0, active: false };
      this.containers.set(container, st);
    }
    return st;
  }

  private drop(stage: string, reason: string, container: string, count: number): void {
    this.deps.report.drop({ stage, reason, container }, count);
  }
}

function coarsenTimes(templates: LogTemplate[], resolutionMs: number): LogTemplate[] {
  if (resolutionMs === 1) return templates;
  const down = (t: number): number => t - (t % resolutionMs);
  for (const t of templates) {
    t.firstSeen = down(t.firstSeen);
    t.lastSeen = down(t.lastSeen);
    for (const s of t.samples) s.ts = down(s.ts);
  }
  return templates;
}
