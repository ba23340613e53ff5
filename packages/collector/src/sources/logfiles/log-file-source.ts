import { statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DropReport } from '../../batch/drops.js';
import type { Logger } from '../../runtime/logger.js';
import type { FileRef, LogSink, LogSource, RawLogLine, ReadPosition } from '../types.js';
import { discoverCri, discoverDocker, type DockerName, type LogFileRef } from './discover.js';
import { FolderListing } from './folder-listing.js';
import { afterData, FileTailer, type ReadResult, type TailPosition } from './file-tailer.js';
import { parseEntry, Rfc3339Parser } from './formats.js';
import type { LogFileSourceOptions } from './options.js';

/** A file not modified for this long (ms) is read without holding a descriptor (FileTailer.park). */
const PARK_IDLE_MS = 60_000;
/**
 * Followed files up to which an idle file with a backlog keeps its descriptor until it is read to
 * its end: parked after every chunk, it was looked at and opened again for each (a stat, an open
 * and an fstat per 64 KiB). Above it (a host keeping thousands of exited containers' logs, read
 * from their start), each gives it up after every chunk, so that the descriptors held stay
 * bounded, well under containerd's default soft limit of 1,024, whatever the number of files.
 */
const HOLD_WHILE_BEHIND_FILES = 256;
/** Rotated json-file logs (`<path>.1` to `.10`) looked through at start for the one a saved position names. */
const ROTATED_LOOKUP = 10;
/**
 * A runtime writes the pieces of a split line back to back: a last piece that has not come this
 * long (ms) after the file's end was reached never will (the container died mid-line).
 */
const UNFINISHED_LINE_MS = 5_000;

interface Followed {
  ref: LogFileRef;
  /** Read in order: a file rotated while the collector was down (`<path>.1`) first, then the file itself. */
  tailers: FileTailer[];
  /** A message split by the runtime (P entries, json-file without newline) being put together. */
  partial:
    | {
        ts: number;
        stream: 'stdout' | 'stderr';
        text: string;
        rawBytes: number;
        offset: number;
        /** The file and the offset after its latest piece, and when that piece was read. */
        ref: FileRef;
        end: number;
        readAt: number;
      }
    | undefined;
  /** Where to resume after a restart: before any partial that is still incomplete. */
  committed: TailPosition;
  times: Rfc3339Parser;
  /** Runtime time of the last line handed on. */
  lastTs: number;
  /** When a read last found the end of the file; undefined while there is more to read. */
  caughtUpAt: number | undefined;
  /** Notifications of its folder, while it holds a descriptor (written to lately): a write brings a round forward. */
  watcher: FSWatcher | undefined;
}

/**
 * A rested file: where it was left, and when it is looked at next. Each look that finds it as it
 * was doubles the wait, up to `restPollMaxMs`: a host's thousands of exited containers' logs,
 * each looked at every poll, took ~5 % of a core while nothing was written (issue 15).
 */
interface Rested extends TailPosition {
  due: number;
  every: number;
}

/** Where a rested file was left, whatever a position holds: for the cursor, or to follow it again. */
const positionOf = ({ due: _due, every: _every, ...position }: Rested): TailPosition => position;

export interface LogFileSourceDeps {
  report?: DropReport;
  /**
   * Where to resume each file (by path), from the cursor the outbox keeps. Undefined at the very
   * first start: then `readFromHead` says whether files present now are read from their start.
   */
  resume?: ReadonlyMap<string, TailPosition>;
  /**
   * Per path, what the full-log store held of it at start: lines read again that it holds are not
   * stored twice. Each entry is taken out once its file is opened (nothing else reads it).
   */
  stored?: Map<string, TailPosition & { extra?: readonly number[] }>;
  now?: () => number;
  /** Says, at start, how many positions of `resume` it forgot as under neither root. */
  log?: Pick<Logger, 'warn'>;
}

/**
 * Tails Docker json-file and CRI log files. Files are read in rounds, one chunk of each per round,
 * so a container with a large backlog cannot hold up the others, and the source waits whenever
 * its sink says so: what is read ahead of the pipeline is bounded by a chunk per file whatever the
 * backlog. Rotation, truncation and split (partial) lines are handled; a write to a file written
 * to lately, or a new container's folder, brings a round forward (fs.watch), polling finds the
 * rest. Where reading resumes after a restart is not kept here: the collector makes each file's position durable together with the windows its lines went into
 * (see positions() and the README's "Nothing tailed is lost").
 */
export class LogFileSource implements LogSource {
  readonly name = 'logfiles';
  readonly replayable = true;
  private readonly files = new Map<string, Followed>();
  /**
   * Files read to their end and idle (their descriptor given up), kept as their position alone
   * until they change: a host keeps the logs of every exited container, and a followed file held
   * ~1.2 KB (tailer, parser, positions) where this holds its path and two numbers (issue 15).
   */
  private readonly rested = new Map<string, Rested>();
  /** Where files are followed from: the previous run's positions not taken yet, and rested files that changed. */
  private readonly resume: Map<string, TailPosition>;
  private readonly names = new Map<string, DockerName>();
  /** Docker's container folder, listed again only when it changed. */
  private readonly dockerListing: FolderListing;
  private firstScan = true;
  private watchers: FSWatcher[] = [];
  private loop: Promise<void> | undefined;
  private stopped = true;
  private wake: (() => void) | undefined;
  private nextDiscovery = 0;
  /** Paths counted as refused (`refuse`), until they are read again. */
  private readonly refused = new Set<string>();
  /** Waiters of catchUp(), resolved at the end of the next complete round. */
  private roundWaiters: Array<() => void> = [];
  private readonly now: () => number;
  /** Files opened so far: each file's FileRef.order. */
  private opened = 0;
  /** Files are read one at a time: one buffer for all (64 KiB per file took 192 MB for 3,000 files). */
  private readonly readBuffer: Buffer;

  constructor(
    private readonly options: LogFileSourceOptions,
    private readonly deps: LogFileSourceDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.readBuffer = Buffer.allocUnsafe(options.chunkBytes);
    this.dockerListing = new FolderListing(options.dockerRoot);
    this.resume = new Map(deps.resume);
    // A position under neither root (a changed dockerRoot or podsRoot, or the same folder spelled
    // through a symlink) is never listed, and discovery forgets only what a root's listing lacks:
    // such a position was carried in every cursor for good. Only with both roots on: a root turned
    // off ('') for a run says nothing of where its positions were, and forgetting them would read
    // all of that root again from the start once it is turned back on.
    const bothOn = options.dockerRoot !== '' && options.podsRoot !== '';
    const outside = bothOn
      ? [...this.resume.keys()].filter((p) => !within(options.dockerRoot, p) && !within(options.podsRoot, p))
      : [];
    for (const p of outside) this.resume.delete(p);
    if (outside.length > 0)
      deps.log?.warn('sources.logFiles: saved read positions under neither root forgotten', {
        forgotten: outside.length,
        first: outside[0],
        why: 'dockerRoot or podsRoot is not where they were read; a file read before under another path is read again from its start',
      });
  }

  start(sink: LogSink): void {
    this.stopped = false;
    // The roots, and the folder of each file written to lately (syncWatch), not recursive: on Linux
    // Node's recursive watch is one inotify watch and one kept Stats per file and per folder below,
    // which for 3,000 exited containers was 9,001 watches and 8 MiB of heap (and a host's
    // max_user_watches, 8,192 on older kernels, is shared by every process).
    for (const root of [this.options.dockerRoot, this.options.podsRoot]) {
      if (root === '') continue;
      const w = this.watch(root, () => (this.nextDiscovery = 0));
      if (w !== undefined) this.watchers.push(w);
    }
    this.loop = this.run(sink);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const f of this.files.values()) this.syncWatch(f, false);
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    // The files stay known (watermark, positions): the final seal and cursor still read them.
    for (const f of this.files.values()) for (const t of f.tailers) await t.close();
    for (const w of this.roundWaiters.splice(0)) w();
  }

  watermark(container: string): number | undefined {
    let min: number | undefined;
    for (const f of this.files.values()) {
      if (f.ref.container !== container) continue;
      const w = f.caughtUpAt ?? f.lastTs;
      if (min === undefined || w < min) min = w;
    }
    return min;
  }

  /** Bytes of the followed files not read yet (as of each file's last look at its size): how far behind reading is. */
  backlogBytes(): number {
    let n = 0;
    for (const f of this.files.values()) for (const t of f.tailers) n += t.backlogBytes;
    return n;
  }

  /** Files followed (a tailer each) and rested (a position each): see `rested`. */
  fileCounts(): { followed: number; rested: number } {
    return { followed: this.files.size, rested: this.rested.size };
  }

  positions(): ReadPosition[] {
    const out = [...this.files.values()].map((f) => ({ path: f.ref.path, ...f.committed }));
    for (const [p, at] of this.rested) out.push({ path: p, ...positionOf(at) });
    // Not followed (before the first discovery, a file that could not be opened, one not found while
    // its root was missing or empty, or gone from under the reader): left out of a cursor, such a
    // file was read again from its start after the next restart.
    for (const [p, at] of this.resume) out.push({ path: p, ...at });
    return out;
  }

  catchUp(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.roundWaiters.push(resolve);
      this.nextDiscovery = 0;
      this.wake?.();
    });
  }

  /** One round after another: discovery when due, then a chunk of each file; idle when nothing was new. */
  private async run(sink: LogSink): Promise<void> {
    while (!this.stopped) {
      const waiters = this.roundWaiters;
      this.roundWaiters = [];
      let read = false;
      try {
        if (this.now() >= this.nextDiscovery) {
          this.nextDiscovery = this.now() + this.options.pollIntervalMs;
          // catchUp() (before each window's seal) looks at every rested file: a line written before
          // the window's end is read for its seal, however long its file rested.
          await this.discover(waiters.length > 0);
        }
        for (const [p, f] of this.files) {
          if (this.stopped) break;
          // One file that cannot be read (its path made a FIFO after a rotation) must not stop the others.
          const r = await this.readChunk(f, sink).catch((err: unknown) => this.refuse(f.ref, err));
          const atEnd = r === 'eof' || r === 'end';
          if (r === 'gone' || atEnd) this.releaseUnfinished(f, sink, r === 'gone');
          // Lines came: another round at once, as before `end` was told apart (a write during this
          // round may have found no waiter to wake).
          if (r === 'data' || r === 'end') read = true;
          if (r === 'gone') this.lose(p, f);
          else if (atEnd) this.restIfIdle(p, f);
          this.syncWatch(f, r !== 'gone' && this.files.has(p) && (f.tailers[0] as FileTailer).isOpen);
          if (r !== undefined) this.refused.delete(p);
          const wait = sink.ready();
          if (wait !== undefined) await wait;
        }
      } catch (err) {
        this.deps.report?.drop({
          stage: 'sources.logfiles',
          reason: `poll_failed:${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          container: '',
        });
      }
      for (const w of waiters) w();
      if (this.stopped) break;
      // A turn of the event loop between rounds, so that timers and I/O of the rest of the collector
      // run while a backlog is read; a real wait when every file is at its end.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, read || this.roundWaiters.length > 0 ? 0 : this.options.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async discover(lookAll: boolean): Promise<void> {
    const docker =
      this.options.dockerRoot === ''
        ? []
        : await discoverDocker(this.dockerListing, this.names, (file) => this.files.get(file)?.tailers[0]?.isOpen);
    const cri = this.options.podsRoot === '' ? { refs: [], unread: [] } : await discoverCri(this.options.podsRoot);
    const pods = cri.refs;
    const refs = [...docker, ...pods];
    const veryFirst = this.firstScan && this.deps.resume === undefined;
    const now = this.now();
    const fresh: Followed[] = [];
    let restedSeen = 0;
    for (const ref of refs) {
      const f = this.files.get(ref.path);
      // Renamed (docker rename): its lines from now on go under the new name.
      if (f !== undefined) f.ref = ref;
      else if (this.resting(ref.path, lookAll, now)) restedSeen++;
      else {
        const g = await this.follow(ref, veryFirst).catch((err: unknown) => this.refuse(ref, err));
        if (g !== undefined) fresh.push(g);
      }
    }
    // Read in the order they were last written, not in the folder's (a container id is random):
    // thousands of exited containers' logs read at a first start then end their windows in time
    // order, so that each backlog seal (once a second) takes a few windows, not one part of each
    // of the ~100 their hours span (7x the batches).
    // Oldest modification first: each file's idle time is read once (as a sort key), not twice per
    // comparison.
    const byIdle = fresh.map((f) => ({ f, idle: (f.tailers[0] as FileTailer).idleMs(now) }));
    byIdle.sort((a, b) => b.idle - a.idle);
    for (const { f } of byIdle) this.files.set(f.ref.path, f);
    // A rested file or a position not taken up whose file is not listed is forgotten (a set of the
    // paths only then: a rested file not seen, or positions left), but only where its root lists
    // other logs and every folder between the root and the file that the root's listing showed was
    // listed itself: the container or pod was removed, or an old CRI log deleted. A root missing or
    // empty (not mounted yet, the runtime restarting), or a pod's or container's folder that could
    // not be listed (EMFILE, made again while kubelet restarts), says nothing of a file: forgotten
    // then, its position was gone from the cursors, and at the next good listing the file was read
    // again from its start (every line twice). Docker's files are named from the root's listing
    // alone: a root that cannot be listed fails the whole poll, and forgets nothing.
    if (restedSeen < this.rested.size || this.resume.size > 0) {
      const present = new Set(refs.map((r) => r.path));
      const gone = (p: string) =>
        !present.has(p) &&
        ((docker.length > 0 && within(this.options.dockerRoot, p)) ||
          (pods.length > 0 && within(this.options.podsRoot, p) && !cri.unread.some((d) => within(d, p))));
      for (const p of this.rested.keys()) if (gone(p)) this.rested.delete(p);
      for (const p of this.resume.keys()) if (gone(p)) this.resume.delete(p);
    }
    this.firstScan = false;
  }

  /** `fs.watch` of `dir` that wakes the reader (after `also`); undefined where notifications fail: polling still reads it. */
  private watch(dir: string, also?: () => void): FSWatcher | undefined {
    try {
      const w = watch(dir, () => {
        also?.();
        this.wake?.();
      });
      // The folder removed, or the host out of watches.
      w.on('error', () => w.close());
      return w;
    } catch {
      return undefined;
    }
  }

  /** A file's folder is watched while `on` (its descriptor held: written to within PARK_IDLE_MS), not after. */
  private syncWatch(f: Followed, on: boolean): void {
    if (on && f.watcher === undefined) f.watcher = this.watch(path.dirname(f.ref.path));
    else if (!on && f.watcher !== undefined) {
      f.watcher.close();
      f.watcher = undefined;
    }
  }

  /**
   * A followed file whose path is gone: its position is kept as one not taken up (`resume`), until
   * discovery finds its file back (the same inode: read on from there; another: `follow`) or
   * forgets it (not listed by a root that lists others). Its root unmounted and mounted again
   * read it from its start before.
   */
  private lose(p: string, f: Followed): void {
    this.files.delete(p);
    // A copy: `committed` is updated in place while the file is read.
    this.resume.set(p, { ...f.committed });
  }

  /** A followed file at its end and idle since (its descriptor given up, no line half read) rests: see `rested`. */
  private restIfIdle(p: string, f: Followed): void {
    const t = f.tailers[0] as FileTailer;
    if (f.tailers.length > 1 || t.isOpen || !t.complete || f.partial !== undefined) return;
    this.files.delete(p);
    const every = this.options.pollIntervalMs;
    this.rested.set(p, { ...t.position(), due: this.now() + every, every });
  }

  /**
   * Whether a rested file rests still: not due for a look (unless `lookNow`), or as it was left
   * (same inode and size). One that changed is followed again from where it was left.
   */
  private resting(p: string, lookNow: boolean, now: number): boolean {
    const at = this.rested.get(p);
    if (at === undefined) return false;
    if (!lookNow && now < at.due) return true;
    const st = lookAt(p);
    if (st !== undefined && st.ino === at.inode && st.size === at.offset) {
      at.every = Math.min(Math.max(this.options.restPollMaxMs, this.options.pollIntervalMs), at.every * 2);
      at.due = now + at.every;
      return true;
    }
    this.rested.delete(p);
    this.resume.set(p, positionOf(at));
    return false;
  }

  /**
   * Counts a file that could not be opened or read, once until it is read again (it is tried again
   * each round and discovery): `not_a_file` (ET_ERR_LOG_NOT_A_FILE) or `open_failed:<errno>`.
   */
  private refuse(ref: LogFileRef, err: unknown): undefined {
    if (this.refused.has(ref.path)) return undefined;
    this.refused.add(ref.path);
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const reason = code === 'ET_ERR_LOG_NOT_A_FILE' ? 'not_a_file' : `open_failed:${code}`;
    this.deps.report?.drop({ stage: 'sources.logfiles', reason, container: ref.container });
    return undefined;
  }

  /** A file to follow from where it is to be resumed (undefined: it does not exist): the caller adds it to `files`. */
  private async follow(ref: LogFileRef, veryFirst: boolean): Promise<Followed | undefined> {
    const saved = this.resume.get(ref.path);
    const tailers: FileTailer[] = [];
    // Rotated while the collector was down: finish the rotated files first.
    if (saved !== undefined) {
      const now = await stat(ref.path).catch(() => undefined);
      if (now !== undefined && now.ino !== saved.inode) tailers.push(...(await this.rotatedSince(ref, saved)));
    }
    const main = this.tailer(ref.path, ref.path);
    const from = tailers.length > 0 ? 'start' : (saved ?? (veryFirst && !this.options.readFromHead ? 'end' : 'start'));
    const opened = await main.open(from).catch((err: unknown) => err);
    if (opened !== true) {
      for (const t of tailers) await t.close();
      if (opened === false) return undefined;
      throw opened;
    }
    tailers.push(main);
    for (const t of tailers) this.markStored(t);
    // A file idle since before the collector looked (an exited container's) holds no descriptor until it changes.
    if (tailers.length === 1) await this.parkIfIdle(main);
    // Kept until now: a file that could not be opened is tried again from the same place.
    this.resume.delete(ref.path);
    return {
      ref,
      tailers,
      partial: undefined,
      committed: (tailers[0] as FileTailer).position(),
      times: new Rfc3339Parser(),
      lastTs: -Infinity,
      caughtUpAt: undefined,
      watcher: undefined,
    };
  }

  /**
   * The files rotated from `ref` since `saved` was read, in read order: the one it names (resumed at
   * its offset), then those rotated after it. None when its inode is not among them (rotated out,
   * removed) or they moved while opened (rotatedLost); throws when one cannot be opened. Only `<path>.1` was looked at before: after two rotations
   * while the collector was down (json-file `max-file`, logrotate) the file it had read was `.2`,
   * and all of `.1` was lost, uncounted; kubelet's CRI logs were never found (see rotatedNames).
   */
  private async rotatedSince(ref: LogFileRef, saved: TailPosition): Promise<FileTailer[]> {
    const names = await rotatedNames(ref);
    const inodes: number[] = [];
    for (const name of names) {
      const st = await stat(name).catch(() => undefined);
      if (st === undefined) break;
      inodes.push(st.ino);
      if (st.ino === saved.inode) break;
    }
    if (inodes.at(-1) !== saved.inode) return this.rotatedLost(ref);
    const out: FileTailer[] = [];
    for (let n = inodes.length - 1; n >= 0; n--) {
      const t = this.tailer(names[n] as string, ref.path);
      out.push(t);
      // An open that fails (EMFILE) fails follow(): counted as `open_failed:<errno>` and tried again
      // from the saved position. The chain was dropped before and the main file read from 0: every
      // rotated file lost, uncounted.
      const opened = await t.open(saved).catch((err: unknown) => err);
      if (opened === true && t.ref.inode === inodes[n]) continue;
      for (const o of out) await o.close();
      if (opened !== true && opened !== false) throw opened;
      return this.rotatedLost(ref);
    }
    return out;
  }

  /**
   * The file last read is not among the rotated files (gzipped by kubelet, rotated past `.10`,
   * removed) or they moved while opened: what was left of it cannot be read. Counted as
   * `sources.logfiles/rotated_not_found` (it was lost silently before); reading goes on in the file
   * the path names now, from its start.
   */
  private rotatedLost(ref: LogFileRef): FileTailer[] {
    this.deps.report?.drop({ stage: 'sources.logfiles', reason: 'rotated_not_found', container: ref.container });
    return [];
  }

  private tailer(file: string, key: string): FileTailer {
    return new FileTailer(
      file,
      { chunkBytes: this.options.chunkBytes, maxLineBytes: this.options.maxLineBytes, readBuffer: this.readBuffer },
      key,
      () => ++this.opened,
    );
  }

  /** Lines of this file up to what the store already holds are not stored again (read before a crash). */
  private markStored(t: FileTailer): void {
    const s = this.deps.stored?.get(t.ref.path);
    if (s === undefined || s.inode !== t.ref.inode) return;
    this.deps.stored?.delete(t.ref.path);
    t.ref.storedUpTo = s.offset;
    if (s.extra !== undefined && s.extra.length > 0) t.ref.storedExtra = new Set(s.extra);
  }

  /** A file not written for PARK_IDLE_MS gives up its descriptor (FileTailer.park). */
  private async parkIfIdle(t: FileTailer): Promise<void> {
    if (t.idleMs(this.now()) >= PARK_IDLE_MS) await t.park();
  }

  /** One chunk of `f`; `end` and `eof` (at its end now) make its watermark the time of this read. */
  private async readChunk(f: Followed, sink: LogSink): Promise<ReadResult> {
    const t = f.tailers[0] as FileTailer;
    const r = await t.read((line, ref, start, end) => this.onLine(f, line, ref, start, end, sink));
    if (r !== 'gone' && (r !== 'data' || this.files.size > HOLD_WHILE_BEHIND_FILES) && f.tailers.length === 1)
      await this.parkIfIdle(t);
    if (r === 'data') {
      f.caughtUpAt = undefined;
      return r;
    }
    if (f.tailers.length > 1) {
      // The rotated file is done; the file the path names now is next.
      await t.close();
      f.tailers.shift();
      f.committed = (f.tailers[0] as FileTailer).position();
      const next = await this.readChunk(f, sink);
      return afterData(next, r === 'end');
    }
    if (r !== 'gone') f.caughtUpAt = this.now();
    return r;
  }

  /**
   * Hands on a split line whose last piece never came: its file is gone, or its end was reached
   * UNFINISHED_LINE_MS after the latest piece. A container killed mid-line (its last words, often
   * the reason it died) lost them before: never pushed, so neither shipped nor stored for a pull.
   * Counted as `sources.logfiles/unfinished_line`.
   */
  private releaseUnfinished(f: Followed, sink: LogSink, gone: boolean): void {
    const p = f.partial;
    if (p === undefined || (!gone && this.now() - p.readAt < UNFINISHED_LINE_MS)) return;
    f.partial = undefined;
    this.deps.report?.drop({ stage: 'sources.logfiles', reason: 'unfinished_line', container: f.ref.container });
    this.push(f, sink, p.ts, p.stream, p.text, p.rawBytes, p.ref, p.offset, p.end);
  }

  private onLine(f: Followed, line: string, ref: FileRef, start: number, end: number, sink: LogSink): void {
    const e = parseEntry(f.ref.format, line, f.times);
    if (e === undefined) {
      // A corrupt or torn entry: counted, skipped, and not allowed to hold back the position.
      this.deps.report?.drop({ stage: 'sources.logfiles', reason: 'corrupt_line', container: f.ref.container });
      if (f.partial === undefined) f.committed = { inode: ref.inode, offset: end };
      return;
    }
    const bytes = end - start;
    // A message that never ends is handed on once it reaches maxLineBytes.
    const tooLong = f.partial !== undefined && f.partial.text.length + e.text.length >= this.options.maxLineBytes;
    if (e.partial && !tooLong) {
      if (f.partial === undefined)
        f.partial = {
          ts: e.ts,
          stream: e.stream,
          text: e.text,
          rawBytes: bytes,
          offset: start,
          ref,
          end,
          readAt: this.now(),
        };
      else {
        f.partial.text += e.text;
        f.partial.rawBytes += bytes;
        f.partial.ref = ref;
        f.partial.end = end;
        f.partial.readAt = this.now();
      }
      return;
    }
    const p = f.partial;
    f.partial = undefined;
    const text = p === undefined ? e.text : p.text + e.text;
    this.push(f, sink, p?.ts ?? e.ts, e.stream, text, (p?.rawBytes ?? 0) + bytes, ref, p?.offset ?? start, end);
  }

  private push(
    f: Followed,
    sink: LogSink,
    ts: number,
    stream: 'stdout' | 'stderr',
    line: string,
    rawBytes: number,
    ref: FileRef,
    offset: number,
    end: number,
  ): void {
    const out: RawLogLine = { ts, container: f.ref.container, stream, line, rawBytes, file: ref, offset, end };
    // In place: its own object (positions() copies it), and this runs for every line.
    f.committed.inode = ref.inode;
    f.committed.offset = end;
    if (ts > f.lastTs) f.lastTs = ts;
    sink.push(out);
  }
}

/**
 * The names a rotated copy of `ref`'s file may have, newest first: json-file and logrotate
 * `<path>.1` to `.10`; kubelet (CRI) `<path>.<yyyymmdd-hhmmss>`, the time it rotated it (older
 * ones it compresses, `.gz`, which are not read).
 */
async function rotatedNames(ref: LogFileRef): Promise<string[]> {
  if (ref.format === 'json-file') return Array.from({ length: ROTATED_LOOKUP }, (_, i) => `${ref.path}.${i + 1}`);
  const base = path.basename(ref.path);
  const names = (await readdir(path.dirname(ref.path)).catch(() => [])).filter(
    (n) => n.startsWith(`${base}.`) && /^\d{8}-\d{6}$/.test(n.slice(base.length + 1)),
  );
  return names
    .sort()
    .reverse()
    .map((n) => path.join(path.dirname(ref.path), n));
}

/** Whether `file` (a path discovery made: path.join of the root and more) is under the folder `root`. */
function within(root: string, file: string): boolean {
  return root !== '' && file.startsWith(path.join(root, path.sep));
}

/**
 * A rested file's stat, undefined when it cannot be had. Synchronous: an awaited stat cost ~77 µs
 * of CPU (a thread-pool round trip) against ~3 µs: 3,000 exited containers' files, each looked at
 * every poll then, took half of a 0.2 CPU budget while nothing was written. Their inodes are
 * looked at every few seconds at most, so the kernel has them cached: the call does not wait on the disk.
 */
function lookAt(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
