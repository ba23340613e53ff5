import {
  LogLevel,
  type ContainerInfo,
  type LogEvent,
  type LogLevelValue,
  type LogTemplate,
  type MetricSummary,
} from '@edge-telemetry/protocol';
import type { FileRef, RawLogLine } from '../../sources/types.js';
import type { DropReport } from '../../batch/drops.js';
import { DuplicateCollapser } from '../dedup/collapser.js';
import { LineFilter } from '../filter/line-filter.js';
import { MultilineJoiner } from '../parse/multiline.js';
import { HeaderCuts } from '../parse/header-cuts.js';
import { fieldsOf, parseLine } from '../parse/parse-line.js';
import { Redactor, type RedactionCounts } from '../redact/redactor.js';
import { TemplateMiner } from '../templates/miner.js';
import { WILDCARD } from '../templates/tokenize.js';
import { TokenBucket } from '../throttle/token-bucket.js';
import { fitText } from '../../batch/fit-text.js';
import { levelSummaries } from './level-metrics.js';
import type { ContainerLogSettings, LogPipelineOptions } from './options.js';
import { glob, settingsFor } from './select.js';

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
  /**
   * Every joined line, before filtering (the local full-log store), with the raw line it came from
   * and, for a file's line, the offset up to which every line of that file has now been handed to
   * onRecord (lines are joined, so they reach it out of read order; see MultilineJoiner).
   */
  onRecord?(record: LogRecord, raw: RawLogLine, recordedUpTo: number): void;
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

/** One window's output: what its sealed container parts hold together. */
export interface LogPipelineWindow {
  start: number;
  end: number;
  /** Lines at or above each container's verbatim level, redacted, duplicates collapsed. */
  logs: LogEvent[];
  templates: LogTemplate[];
  /** Lines per container and level (`logs.<level>_lines`), counted before filtering. */
  metrics: MetricSummary[];
  /** Raw bytes of the lines in it (the uplink economy's baseline). */
  rawBytes: number;
}

export interface LogPipelineStats {
  linesIn: number;
  /** Containers whose state is held now (at most `maxContainers`). */
  containers: number;
  /** Containers let go at the cap (`maxContainers`); their open windows are sealed when due. */
  shedContainers: number;
  eventsIn: number;
  /** Secrets taken out of what leaves the node: every mined message, and the fields of lines shipped verbatim. */
  redactions: RedactionCounts;
  clusters: number;
  /** Tokens the miner's templates hold over all their views (`templates.maxHeldTokens`). */
  templateTokens: number;
  /** Containers the template miner holds a tree for (those with a live template). */
  templateScopes: number;
  evictions: number;
  /** Lines whose window was already sealed when they came: they joined the earliest open window of their container. */
  lateLines: number;
  /** Lines stamped further in the future than `window.futureSkewMs`: windowed at the node's time instead. */
  futureLines: number;
  /** Windows (container parts) open now, and the bytes of the lines and templates they hold. */
  openParts: number;
  heldBytes: number;
}

/** Where a restart resumes without losing or repeating a line: see `cursorState()`. */
export interface WindowCursorState {
  /** Per container, the end of its last sealed window: a line read again after a restart never goes before it. */
  horizons: Record<string, number>;
}

/** A position in read order: files of one path are read in `order`, each from offset 0 up. */
interface Position {
  ref: FileRef;
  offset: number;
}

/**
 * Where a container's windows stand: what sealing them needs, kept while any is open, with or
 * without the container's state (a state let go at the cap leaves its windows open: `shed()`).
 */
interface Track {
  /** End of the last sealed window: no line of this container goes into a window before it. */
  horizon: number;
  /** Latest window time of a line of this container: windows never go back in time within it. */
  floor: number;
  /** Its parts in open windows (a state with none may be let go). */
  open: number;
}

interface ContainerState extends Track {
  settings: ContainerLogSettings;
  filter: LineFilter;
  minLevel: LogLevelValue;
  verbatim: LogLevelValue;
  bucket: TokenBucket;
  dedup: DuplicateCollapser<LogEvent>;
  /** Window of the event the collapser holds (its lines were counted there). */
  heldWindow: number;
  /** The line of the event the collapser holds, for its fields should it leave verbatim (ship()). */
  heldLine: string;
  /** The window the last line went to, to skip the map lookup for the next. */
  last: Part | undefined;
  /** When (the node's clock) its last line was pushed: the oldest goes first at the cap, an idle one goes. */
  lastLine: number;
}

/**
 * A container with no line for this long (ms, the node's clock) and nothing held lets its state go
 * (issue 15: a gateway whose CI runners, cron jobs or crash loops make a new container each time
 * kept every one's state, ~23 KB each with the rest). Longer than a throttle refill at the
 * defaults (1,000 lines at 200/s: 5 s), so a state made again is the one that would have been.
 */
const CONTAINER_IDLE_MS = 120_000;

/**
 * At the cap, states are let go down to this share of it: the pass that picks them (a sort of all
 * states) then runs once per tenth of the cap new containers, not for each one.
 */
const SHED_TO = 0.9;

/** One container's share of one window. */
interface Part {
  window: OpenWindow;
  container: string;
  levels: number[];
  /** Lines dropped below the minimum level (the commonest drop, kept off the keyed map). */
  belowLevel: number;
  rawBytes: number;
  templates: Map<string, LogTemplate>;
  logs: LogEvent[];
  heldBytes: number;
}

interface OpenWindow {
  start: number;
  parts: Map<string, Part>;
  /** Caps hold per window over all containers, across the seals of its parts. */
  logs: number;
  templates: number;
}

/**
 * Per path: the earliest line (in file order) of each open window its lines went into, with the
 * window's container. One file can feed two containers: after a `docker rename` its lines come under
 * the new name (LogFileSource), and each position goes when its own container seals its window.
 */
interface PathState {
  open: Array<{ container: string; start: number; at: Position }>;
}

/**
 * The log path of one node: raw lines -> multi-line join -> parse -> redact -> filter -> dedup ->
 * throttle -> template, into windows by the lines' own (runtime) time. A container's window is
 * sealed once the container's read time has passed its end plus the lateness bound (`seal()`), so
 * a backlog becomes the windows it spans, each with its own caps, and a restart resumes exactly
 * at the first line of the earliest window not sealed (`openPosition()`). Pure over plain data
 * apart from the injected clock and sinks; one instance serves all containers.
 */
export class LogPipeline {
  private readonly joiner: MultilineJoiner;
  private readonly redactor: Redactor;
  private readonly miner: TemplateMiner;
  /** The header cut before mining, its answers kept by header layout (the same for any container). */
  private readonly headers = new HeaderCuts();
  private readonly containers = new Map<string, ContainerState>();
  private readonly windows = new Map<number, OpenWindow>();
  private readonly paths = new Map<string, PathState>();
  /** Window start when each template last had samples shipped, for templates.sampleIntervalMs (event time). */
  private readonly sampledAt = new Map<string, number>();
  /** Template ids merged into a template that has had no row since (live id -> merged ids): listed on its next row. */
  private readonly pendingMerges = new Map<string, string[]>();
  private readonly redactions: RedactionCounts = {};
  private linesIn = 0;
  private eventsIn = 0;
  private lateLines = 0;
  private futureLines = 0;
  private heldBytes = 0;
  private shedContainers = 0;
  /** Containers whose horizon was let go: their templates go at the next seal (releaseIdle). */
  private readonly forgotten = new Set<string>();
  /**
   * Containers whose state was let go at the cap (`shed()`) while they had open windows: those
   * windows are sealed when due, as anyone's, by this track; it goes to `restored` once none is
   * open, or back into the container's state when it writes again.
   */
  private readonly parked = new Map<string, Track>();
  private lastSweep: number;
  /**
   * Horizons of containers without a state: from the cursor of the previous run, and of those let
   * go since, taken by a container's state when it is made again. At most `maxContainers`, the
   * oldest forgotten first (with its templates): a container let go has nothing open, so its lines
   * are read again after a restart only from where its windows were sealed, and a horizon only guards that.
   */
  private readonly restored = new Map<string, number>();
  private readonly windowMs: number;
  private readonly latenessMs: number;
  /** Per-container settings: the options' own until reconfigure() replaces them. */
  private selection: Pick<LogPipelineOptions, 'defaults' | 'containers'>;
  private debug: { window: DebugWindow; match: RegExp[]; use: DebugUse } | undefined;

  constructor(
    private readonly options: LogPipelineOptions,
    private readonly deps: LogPipelineDeps & { windowMs: number; restore?: WindowCursorState },
  ) {
    this.selection = { defaults: options.defaults, containers: options.containers };
    this.joiner = new MultilineJoiner(options.multiline);
    this.redactor = new Redactor(options.redact);
    this.miner = new TemplateMiner(options.templates);
    this.lastSweep = deps.now();
    this.windowMs = deps.windowMs;
    // A window waits at most half its length for late lines: the next one must not be due first.
    this.latenessMs = Math.min(options.window.latenessMs, Math.floor(deps.windowMs / 2));
    for (const [c, h] of Object.entries(deps.restore?.horizons ?? {})) this.remember(c, h);
  }

  /** How long after its end a window waits for late lines (the configured bound, at most half a window). */
  get lateness(): number {
    return this.latenessMs;
  }

  push(raw: RawLogLine): void {
    this.linesIn++;
    const now = this.deps.now();
    // Known from its first line on, even while the joiner holds it: a seal looks at every container.
    const st = this.state(raw.container);
    st.lastLine = now;
    // The line's window time is fixed in read order, before the joiner may hold it back.
    const t = this.windowTime(st, raw.ts, now);
    const line = t === raw.ts ? raw : { ...raw, windowTs: t };
    const f = raw.file;
    if (f !== undefined && f.pushedAs !== raw.container) {
      // The file's lines go as another container now (a docker rename; a container not named yet
      // whose config.v2.json was read torn goes by its id until it is). The joiner holds by
      // container, so the events it holds under the old name go first: else the next line recorded
      // said to the store that every line of the file before it was stored while those were not,
      // and a crash then lost them from the store (read again, taken for stored:
      // test/collector/sigkill.test.ts).
      if (f.pushedAs !== undefined) for (const ev of this.joiner.flushContainer(f.pushedAs, Infinity)) this.process(ev);
      f.pushedAs = raw.container;
    }
    this.joiner.push(line, now, this.processEvent);
    if (now - this.lastSweep >= this.options.multiline.flushAfterMs) this.tick(now);
  }

  /** Releases multi-line events that waited past the flush timeout. */
  tick(now: number): void {
    this.lastSweep = now;
    for (const ev of this.joiner.flush(now)) this.process(ev);
  }

  /**
   * Seals, per container, every window that ended at least the lateness bound before `readTime(c)`
   * (the time up to which every line of c has been read; undefined: c's lines are generated, read
   * time is now), and at or before `upTo`. Returns the sealed windows oldest first, each the union
   * of its sealed parts.
   */
  seal(readTime: (container: string) => number | undefined, upTo = Infinity): LogPipelineWindow[] {
    const now = this.deps.now();
    // A line's window time is at most futureSkewMs ahead of the clock when it was read: a container
    // whose windows are further ahead of the clock than that (and a window) saw the clock stepped
    // back (NTP correcting a clock that ran ahead). Its lines went to its latest window (windows do
    // not go back in time), which is sealed now: waiting for the clock to pass its end held the
    // container's lines for as long as the step, and cut them to one window's caps.
    const stepped = now + this.options.window.futureSkewMs + this.windowMs;
    const restart: Array<[string, Track]> = [];
    const out = this.sealUpTo((c, tr) => {
      if (tr.floor <= stepped) return Math.min((readTime(c) ?? now) - this.latenessMs, upTo);
      restart.push([c, tr]);
      return tr.floor - (tr.floor % this.windowMs) + this.windowMs;
    });
    // Those containers have nothing open now (sealUpTo also let go of their last part): their
    // windows start again at the clock's time (kept at the old time, each pass sealed one more
    // window ahead of it, a window a second for good), and so does their throttle's refill.
    const horizon = Math.floor((now - this.latenessMs) / this.windowMs) * this.windowMs;
    for (const [c, tr] of restart) {
      tr.horizon = horizon;
      tr.floor = -Infinity;
      this.containers.get(c)?.bucket.restartAt(horizon);
    }
    this.releaseIdle(now);
    return out;
  }

  /** Seals every open window of the containers `which` selects (all by default), whether complete or not. */
  sealAll(which: (container: string) => boolean = () => true): LogPipelineWindow[] {
    return this.sealUpTo((c) => (which(c) ? Infinity : -Infinity));
  }

  /**
   * Lets go of the state of every container that has had no line for CONTAINER_IDLE_MS (or a
   * refill of its throttle bucket, if longer: a bucket made again is full) and holds nothing: no
   * open window, no event held for dedup or by the multi-line joiner; and of the tracks of those
   * shed at the cap whose windows are all sealed now. Then forgets the templates of the
   * containers whose horizons went since (`remember`).
   */
  private releaseIdle(now: number): void {
    for (const [c, st] of this.containers) {
      const t = st.settings.throttle;
      const refill = t.linesPerSecond > 0 ? (t.burst * 1000) / t.linesPerSecond : 0;
      if (now - st.lastLine < Math.max(CONTAINER_IDLE_MS, refill)) continue;
      if (st.open === 0 && st.dedup.current === undefined && !this.joiner.holds(c)) this.release(c, st);
    }
    for (const [c, tr] of this.parked) if (tr.open === 0) this.release(c, tr);
    if (this.forgotten.size === 0) return;
    this.miner.forget(this.forgotten);
    this.forgotten.clear();
  }

  /**
   * At the cap (`maxContainers`), makes room for more containers' states in one go: those whose
   * last line is oldest are let go, down to SHED_TO of the cap (one at a time, a container above
   * the cap cost a pass over all states for each new one). What a state holds back is handed on
   * first (a multi-line event, a collapsed run); its open windows stay open and are sealed when
   * due, by its track (`parked`), so its lines keep their windows and a line it writes next
   * joins the same one. Counted (`logs.containers_shed`).
   */
  private shed(): void {
    const keep = Math.floor(this.options.maxContainers * SHED_TO);
    const byAge = [...this.containers].sort((a, b) => a[1].lastLine - b[1].lastLine);
    for (const [c, st] of byAge.slice(0, byAge.length - keep)) {
      for (const ev of this.joiner.flushContainer(c, Infinity)) this.process(ev);
      this.shipHeld(c, st);
      this.release(c, st);
      this.shedContainers++;
    }
  }

  /** Lets go of a container's state or parked track: kept as a track while it has open windows, else as its horizon. */
  private release(c: string, tr: Track): void {
    this.containers.delete(c);
    this.parked.delete(c);
    if (tr.open > 0) this.parked.set(c, { horizon: tr.horizon, floor: tr.floor, open: tr.open });
    else if (tr.horizon > -Infinity) this.remember(c, tr.horizon);
  }

  /** Keeps the horizon of a container without a state (`restored`), within `maxContainers`. */
  private remember(c: string, horizon: number): void {
    this.restored.delete(c);
    this.restored.set(c, horizon);
    if (this.restored.size <= this.options.maxContainers) return;
    const gone = this.restored.keys().next().value as string;
    this.restored.delete(gone);
    // Its templates too, at the next seal (one pass over the miner for all): the miner's trees
    // were per container ever seen (a sparse container's templates outlive its state: forgotten,
    // they would be learnt again, maybe under other ids).
    this.forgotten.add(gone);
  }

  /**
   * Where reading of `path` must resume after a restart so that no line is lost or repeated: the
   * first line of the earliest window not sealed, or of a multi-line event still held. Undefined
   * when every line read from it is in a sealed window (resume where reading stands).
   */
  openPosition(path: string): { inode: number; offset: number } | undefined {
    let best: Position | undefined;
    for (const o of this.paths.get(path)?.open ?? []) if (best === undefined || before(o.at, best)) best = o.at;
    const held = this.joiner.heldFrom(path);
    if (held !== undefined && held.file !== undefined) {
      const at = { ref: held.file, offset: held.offset };
      if (best === undefined || before(at, best)) best = at;
    }
    return best === undefined ? undefined : { inode: best.ref.inode, offset: best.offset };
  }

  cursorState(): WindowCursorState {
    const horizons: Record<string, number> = Object.fromEntries(this.restored);
    for (const tracks of [this.parked, this.containers])
      for (const [c, tr] of tracks) if (tr.horizon > -Infinity) horizons[c] = tr.horizon;
    return { horizons };
  }

  /**
   * New per-container settings (defaults and overrides) without a restart: each known container's
   * filter, levels, throttle and dedup are rebuilt at once (a line it held for dedup is shipped
   * under the old settings first, in the window it was counted in); the next line is judged by the new ones.
   */
  reconfigure(selection: Pick<LogPipelineOptions, 'defaults' | 'containers'>): void {
    this.selection = { defaults: selection.defaults, containers: selection.containers };
    for (const [name, st] of this.containers) {
      this.shipHeld(name, st);
      Object.assign(st, this.settingsState(name));
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

  /** The debug level for a container now, ending the debug when its time is up (the node's clock: a debug is asked for now). */
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
    let openParts = 0;
    for (const w of this.windows.values()) openParts += w.parts.size;
    return {
      linesIn: this.linesIn,
      containers: this.containers.size,
      shedContainers: this.shedContainers,
      eventsIn: this.eventsIn,
      redactions: { ...this.redactions },
      clusters: this.miner.clusterCount,
      templateTokens: this.miner.tokenCount,
      templateScopes: this.miner.scopeCount,
      evictions: this.miner.evictions,
      lateLines: this.lateLines,
      futureLines: this.futureLines,
      openParts,
      heldBytes: this.heldBytes,
    };
  }

  private sealUpTo(upTo: (container: string, track: Track) => number): LogPipelineWindow[] {
    const limit = new Map<string, number>();
    // A parked track holds nothing back (shed() handed it on): its windows need only their limit.
    for (const [c, tr] of this.parked) {
      const h = this.completeUpTo(upTo(c, tr));
      if (h > tr.horizon) limit.set(c, h);
    }
    for (const [c, st] of this.containers) {
      const t = upTo(c, st);
      const h = this.completeUpTo(t);
      if (h <= st.horizon) continue;
      limit.set(c, h);
      // Multi-line events older than the limit get no more lines now; the collapsed run is complete too.
      for (const ev of this.joiner.flushContainer(c, t)) this.process(ev);
      if (st.heldWindow < h) this.shipHeld(c, st);
    }
    const out: LogPipelineWindow[] = [];
    const sealedEnd = new Map<string, number>();
    const starts = [...this.windows.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      const w = this.windows.get(start) as OpenWindow;
      const sealed: Part[] = [];
      for (const [c, p] of w.parts) {
        const h = limit.get(c);
        if (h !== undefined && start + this.windowMs <= h) sealed.push(p);
      }
      if (sealed.length === 0) continue;
      for (const p of sealed) {
        w.parts.delete(p.container);
        (this.track(p.container) as Track).open--;
        sealedEnd.set(p.container, start + this.windowMs);
      }
      if (w.parts.size === 0) this.windows.delete(start);
      out.push(this.output(w, sealed));
    }
    for (const [c, h] of limit) {
      const tr = this.track(c) as Track;
      const end = h === Infinity ? (sealedEnd.get(c) ?? -Infinity) : h;
      if (end > tr.horizon) tr.horizon = end;
      const st = this.containers.get(c);
      if (st?.last !== undefined && st.last.window.start < st.horizon) st.last = undefined;
    }
    for (const [path, ps] of this.paths) {
      // Only the containers sealed now have a new horizon (sealAll may seal a few alone). Kept
      // by the file's first container instead, a renamed one's positions stayed once that name's
      // state went: the cursor never moved on, and a restart read and shipped it all again.
      if (!ps.open.some((o) => limit.has(o.container))) continue;
      ps.open = ps.open.filter((o) => !limit.has(o.container) || o.start >= (this.track(o.container) as Track).horizon);
      // A file with nothing open needs no entry (one per file ever read, before: container churn).
      if (ps.open.length === 0) this.paths.delete(path);
    }
    this.pruneSampled(out);
    return out;
  }

  /** The end of the last window complete at time `t` (windows whose end is at or before it). */
  private completeUpTo(t: number): number {
    return t === Infinity ? Infinity : Math.floor(t / this.windowMs) * this.windowMs;
  }

  /** A container's track: its state's, or the one it left when its state was shed (`parked`). */
  private track(c: string): Track | undefined {
    return this.containers.get(c) ?? this.parked.get(c);
  }

  private output(w: OpenWindow, parts: Part[]): LogPipelineWindow {
    const end = w.start + this.windowMs;
    const logs: LogEvent[] = [];
    const templates: LogTemplate[] = [];
    const metrics: MetricSummary[] = [];
    let rawBytes = 0;
    for (const p of parts) {
      metrics.push(...levelSummaries(p.container, p.levels, w.start, end));
      if (p.belowLevel > 0) this.drop('logs.filter', 'below_level', p.container, p.belowLevel);
      rawBytes += p.rawBytes;
      this.heldBytes -= p.heldBytes;
      for (const e of p.logs) {
        e.templateId = this.miner.resolve(e.templateId);
        logs.push(e);
      }
      const folded = coarsenTimes(this.foldMerged(p.templates), this.options.templateTimeResolutionMs);
      for (const t of folded) {
        t.template = this.fit(t.template, t.container);
        if (t.samples.length > 0 && this.options.templates.sampleIntervalMs > 0) this.sampledAt.set(t.id, w.start);
        templates.push(t);
      }
    }
    this.noteMerges(templates);
    return { start: w.start, end, logs, templates, metrics, rawBytes };
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

  /**
   * The miner may have merged clusters during the window: entries of merged-away ids are folded
   * into their survivor, so that each group is reported once, under its live id and template.
   */
  private foldMerged(templates: Map<string, LogTemplate>): LogTemplate[] {
    const out = new Map<string, LogTemplate>();
    for (const t of templates.values()) {
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

  /** Forgets when templates were sampled once the interval has passed in every container's time. */
  private pruneSampled(out: LogPipelineWindow[]): void {
    if (out.length === 0 || this.sampledAt.size < 4 * this.options.templates.maxClusters) return;
    let oldest = Infinity;
    for (const st of this.containers.values()) if (st.floor < oldest) oldest = st.floor;
    for (const [id, at] of this.sampledAt)
      if (oldest - at >= this.options.templates.sampleIntervalMs) this.sampledAt.delete(id);
  }

  /** process, bound once (the joiner calls it for every event). */
  private readonly processEvent = (ev: RawLogLine): void => this.process(ev);

  private process(ev: RawLogLine): void {
    this.eventsIn++;
    const st = this.state(ev.container);
    const part = this.partFor(st, ev);
    // Fields leave the node only with a verbatim line: read now for the lines at the verbatim
    // level, later (ship()) for the few a debug window ships; building them for every templated
    // line was a measurable share of the per-line CPU and garbage.
    const p = parseLine(ev.line, ev.stream, ev.ts, this.options.parse, st.verbatim);
    if (p.nestedTooDeep) this.drop('logs.parse', 'nested_too_deep', ev.container, 1);
    (part.levels[p.level] as number)++;
    part.rawBytes += ev.rawBytes;
    if (this.deps.onRecord !== undefined) {
      let upTo = 0;
      const f = ev.file;
      if (f !== undefined) {
        if (ev.end > f.recordedEnd) f.recordedEnd = ev.end;
        // Lines of the file the joiner still holds have not been recorded: nothing past their start counts as done.
        const held = this.joiner.heldStart(ev.container, f);
        upTo = held === undefined ? f.recordedEnd : Math.min(held, f.recordedEnd);
      }
      this.deps.onRecord(
        { ts: p.ts, container: ev.container, stream: ev.stream, level: p.level, line: ev.line },
        ev,
        upTo,
      );
    }
    if (p.level < st.minLevel) {
      const debug = this.debugLevel(ev.container, this.deps.now());
      if (debug === undefined || p.level < debug) {
        part.belowLevel++;
        return;
      }
    }
    const message = this.redactor.redact(p.message, this.redactions);
    // A debug line below the container's own minimum still meets its include and exclude patterns.
    const verdict = st.filter.check(Math.max(p.level, st.minLevel) as LogLevelValue, message);
    if (verdict !== undefined) return this.drop('logs.filter', verdict, ev.container, 1);
    // Fields are redacted in ship(), once the event is known to leave verbatim: no other output holds them.
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
    const heldWindow = st.heldWindow;
    const heldLine = st.heldLine;
    const done = st.dedup.push(e);
    if (done === e) return this.ship(st, e, part, ev.line);
    // `e` starts a new run (its lines counted in this window), unless it only raised the held one's repeat.
    if (st.dedup.current === e) {
      st.heldWindow = part.window.start;
      st.heldLine = ev.line;
    }
    if (done !== undefined) this.ship(st, done, this.part(st, done.container, heldWindow), heldLine);
  }

  /**
   * The time a line is windowed by: its runtime time, but never before the container's last sealed
   * window (a late line joins the earliest open one, counted) nor before the line read before it
   * (time does not run backwards within a container's windows, which keeps each file's unsealed
   * lines a suffix of it); a time further in the future than the skew allowance, or none, counts
   * as now.
   */
  private windowTime(st: ContainerState, ts: number, now: number): number {
    let t = ts;
    if (!(t > 0)) t = now;
    else if (t > now + this.options.window.futureSkewMs) {
      this.futureLines++;
      t = now;
    }
    if (t < st.horizon) {
      this.lateLines++;
      t = st.horizon;
    }
    if (t < st.floor) t = st.floor;
    else st.floor = t;
    return t;
  }

  /** The part of the window this (joined) line belongs to, by the window time it got when read. */
  private partFor(st: ContainerState, ev: RawLogLine): Part {
    // A line held by the joiner across a seal is never older than what that seal sealed (seal()
    // releases held lines older than its limit first); kept as a guard.
    const own = ev.windowTs ?? ev.ts;
    const t = own < st.horizon ? st.horizon : own;
    const start = t - (t % this.windowMs);
    let part = st.last;
    if (part === undefined || part.window.start !== start) {
      part = this.part(st, ev.container, start);
      st.last = part;
    }
    if (ev.file !== undefined) this.notePosition(ev, start);
    return part;
  }

  private notePosition(ev: RawLogLine, start: number): void {
    const ref = ev.file as FileRef;
    let ps = this.paths.get(ref.path);
    if (ps === undefined) this.paths.set(ref.path, (ps = { open: [] }));
    // Lines reach a window out of file order: the joiner holds an event's first line (one stream of
    // a json-file log) while the other stream's later lines go on, so a window's first processed
    // line is not always its earliest. The resume point must be the earliest, or a restart skips
    // the held line (it was lost across a SIGKILL when this kept the first processed one).
    // (a position object only when one is kept: this runs for every line)
    let entry: { start: number; at: Position } | undefined;
    for (const o of ps.open)
      if (o.start === start && o.container === ev.container) {
        entry = o;
        break;
      }
    if (entry === undefined) ps.open.push({ container: ev.container, start, at: { ref, offset: ev.offset } });
    else if (precedes(ref, ev.offset, entry.at)) entry.at = { ref, offset: ev.offset };
  }

  private part(st: Track, container: string, start: number): Part {
    let w = this.windows.get(start);
    if (w === undefined) {
      w = { start, parts: new Map(), logs: 0, templates: 0 };
      this.windows.set(start, w);
    }
    let p = w.parts.get(container);
    if (p === undefined) {
      p = {
        window: w,
        container,
        levels: [0, 0, 0, 0, 0, 0],
        belowLevel: 0,
        rawBytes: 0,
        templates: new Map(),
        logs: [],
        heldBytes: 0,
      };
      w.parts.set(container, p);
      st.open++;
    }
    return p;
  }

  /** Ships the line `c`'s dedup holds back (a collapsed run), in the window it was counted in. */
  private shipHeld(c: string, st: ContainerState): void {
    const held = st.dedup.take();
    if (held !== undefined) this.ship(st, held, this.part(st, c, st.heldWindow), st.heldLine);
  }

  /** `line`: the line `e` was parsed from (its fields are read from it if it leaves verbatim without them). */
  private ship(st: ContainerState, e: LogEvent, part: Part, line: string): void {
    const container = e.container;
    const w = part.window;
    // Rate decisions reason in the window's time too: a backlog is throttled as it was written.
    if (!st.bucket.take(Math.max(e.ts, w.start)))
      return this.drop('logs.throttle', 'rate_limited', container, e.repeat);
    const verbatim = e.level >= st.verbatim || this.debugVerbatim(container, e);
    // A line below the container's own minimum came in for a debug whose allowance it did not fit (counted there).
    if (!verbatim && e.level < st.minLevel) return;
    // The template is the message's: a header left in it (a plain-text line's level, thread,
    // logger, pid, host) would split one event by values that vary independently of it.
    const m = this.miner.match(e.message.slice(this.headers.messageStart(e.message)), container);
    e.templateId = m.id;
    let t = part.templates.get(m.id);
    if (t === undefined) {
      if (w.templates >= this.options.maxTemplatesPerWindow)
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
        part.templates.set(m.id, t);
        w.templates++;
        this.hold(part, m.template.length + 64);
      }
    }
    if (t !== undefined) {
      t.template = m.template;
      t.count += e.repeat;
      if (e.level > t.level) t.level = e.level;
      if (e.ts < t.firstSeen) t.firstSeen = e.ts;
      if (e.ts > t.lastSeen) t.lastSeen = e.ts;
      // Lines shipped verbatim need no samples; the others get them when their interval is due.
      if (!verbatim && t.samples.length < this.options.templates.maxSamples && this.sampleDue(m.id, w)) {
        const params = this.miner.params().map((x) => this.fit(x, container));
        t.samples.push({ ts: e.ts, params });
        this.hold(part, 32 + params.reduce((n, x) => n + x.length, 0));
      }
    }
    if (verbatim) {
      if (w.logs >= this.options.maxLogsPerWindow) this.drop('logs.verbatim', 'cap_logs', container, e.repeat);
      else {
        // Only a verbatim line's fields leave the node (a template keeps the message's parameters
        // alone): redacted here rather than for every line, most of which are only templated.
        if (e.level < st.verbatim) e.fields = fieldsOf(line, this.options.parse);
        const fields: Record<string, string> = {};
        for (const k in e.fields)
          fields[this.fit(k, container)] = this.fit(
            this.redactor.redactField(k, e.fields[k] as string, this.redactions),
            container,
          );
        e.fields = fields;
        e.message = this.fit(e.message, container);
        part.logs.push(e);
        w.logs++;
        this.hold(part, e.message.length + 96);
      }
    }
  }

  private sampleDue(id: string, w: OpenWindow): boolean {
    const at = this.sampledAt.get(id);
    // Strictly more than the interval since the window sampled last: that window's own samples count from its end.
    return at === undefined || at === w.start || w.start - at > this.options.templates.sampleIntervalMs;
  }

  private hold(part: Part, bytes: number): void {
    part.heldBytes += bytes;
    this.heldBytes += bytes;
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

  private settingsState(container: string) {
    const info = this.deps.describe?.(container) ?? { name: container, image: '', labels: {} };
    const settings = settingsFor(info, this.selection.defaults, this.selection.containers);
    return {
      settings,
      filter: new LineFilter(settings.filter),
      minLevel: LogLevel[settings.filter.minLevel],
      verbatim: LogLevel[settings.verbatimLevel],
      // Full from the first line on, whenever (in the lines' time) that is: a backlog is throttled as it was written.
      bucket: new TokenBucket(settings.throttle, -Infinity),
      dedup: new DuplicateCollapser<LogEvent>(settings.dedup),
    };
  }

  private state(container: string): ContainerState {
    let st = this.containers.get(container);
    if (st === undefined) {
      if (this.containers.size >= this.options.maxContainers) this.shed();
      const parked = this.parked.get(container);
      st = {
        ...this.settingsState(container),
        heldWindow: -Infinity,
        heldLine: '',
        horizon: parked?.horizon ?? this.restored.get(container) ?? -Infinity,
        floor: parked?.floor ?? -Infinity,
        open: parked?.open ?? 0,
        last: undefined,
        lastLine: this.deps.now(),
      };
      this.containers.set(container, st);
      this.parked.delete(container);
      this.restored.delete(container);
      this.forgotten.delete(container);
    }
    return st;
  }

  /** A text that leaves the node, made to fit the protocol (fitText); each one changed is counted. */
  private fit(s: string, container: string): string {
    const t = fitText(s);
    if (t !== s) this.drop('logs.text', 'cut', container, 1);
    return t;
  }

  private drop(stage: string, reason: string, container: string, count: number): void {
    this.deps.report.drop({ stage, reason, container }, count);
  }
}

/** True when `a` comes before `b` in read order (an older file of the path, or earlier in the same one). */
function before(a: Position, b: Position): boolean {
  return precedes(a.ref, a.offset, b);
}

/** `before` for a position given by its parts (no object for it). */
function precedes(ref: FileRef, offset: number, b: Position): boolean {
  return ref.order !== b.ref.order ? ref.order < b.ref.order : offset < b.offset;
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
