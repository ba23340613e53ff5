import { watch, type FSWatcher } from 'node:fs';
import type { LogSource, RawLogLine } from '../types.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type TailPosition } from './checkpoint.js';
import { discoverCri, discoverDocker, type LogFileRef } from './discover.js';
import { FileTailer } from './file-tailer.js';
import { parseEntry, Rfc3339Parser } from './formats.js';
import type { LogFileSourceOptions } from './options.js';
import type { DropReport } from '../../batch/drops.js';

interface Followed {
  ref: LogFileRef;
  tailer: FileTailer;
  /** A message split by the runtime (P entries, json-file without newline) being put together. */
  partial: { ts: number; stream: 'stdout' | 'stderr'; text: string; rawBytes: number } | undefined;
  /** Offset to resume from after a restart: before any partial that is still incomplete. */
  committed: TailPosition;
  times: Rfc3339Parser;
}

export interface LogFileSourceDeps {
  report?: DropReport;
}

/**
 * Tails Docker json-file and CRI log files. Offsets are checkpointed on disk after every poll,
 * only up to the last complete message handed on, so a restart neither re-sends nor skips.
 * Rotation, truncation and split (partial) lines are handled; fs.watch only brings polls forward.
 */
export class LogFileSource implements LogSource {
  readonly name = 'logfiles';
  private readonly files = new Map<string, Followed>();
  private readonly names = new Map<string, string>();
  private checkpoint: Checkpoint | undefined;
  private firstScan = true;
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly options: LogFileSourceOptions,
    private readonly deps: LogFileSourceDeps = {},
  ) {}

  async start(emit: (line: RawLogLine) => void): Promise<void> {
    this.stopped = false;
    await this.pollOnce(emit);
    for (const root of [this.options.dockerRoot, this.options.podsRoot]) {
      if (root === '') continue;
      try {
        this.watchers.push(watch(root, { recursive: true }, () => this.schedule(emit, 20)));
      } catch {
        // No notifications for this folder (absent, or not supported): polling alone still reads it.
      }
    }
    this.schedule(emit, this.options.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.running;
    for (const f of this.files.values()) await f.tailer.close();
    this.files.clear();
  }

  /** One pass: discover files, read what is new, save the checkpoint. */
  async pollOnce(emit: (line: RawLogLine) => void): Promise<void> {
    const cp = (this.checkpoint ??= await loadCheckpoint(this.options.checkpointPath));
    const refs = [
      ...(this.options.dockerRoot === '' ? [] : await discoverDocker(this.options.dockerRoot, this.names)),
      ...(this.options.podsRoot === '' ? [] : await discoverCri(this.options.podsRoot)),
    ];
    for (const ref of refs) {
      if (this.files.has(ref.path)) continue;
      const tailer = new FileTailer(ref.path, {
        chunkBytes: this.options.chunkBytes,
        maxLineBytes: this.options.maxLineBytes,
      });
      const saved = cp[ref.path];
      const from = saved ?? (this.firstScan && !this.options.readFromHead ? 'end' : 'start');
      if (!(await tailer.open(from))) continue;
      const f: Followed = { ref, tailer, partial: undefined, committed: tailer.position(), times: new Rfc3339Parser() };
      this.files.set(ref.path, f);
      if (saved !== undefined && saved.inode !== f.committed.inode) await this.readRotatedWhileDown(f, saved, emit);
    }
    this.firstScan = false;
    for (const [p, f] of this.files) {
      const alive = await f.tailer.poll((line, end, inode, bytes) => this.onLine(f, line, end, inode, bytes, emit));
      if (!alive) {
        this.files.delete(p);
        continue;
      }
    }
    const next: Checkpoint = {};
    for (const [p, f] of this.files) next[p] = f.committed;
    this.checkpoint = next;
    await saveCheckpoint(this.options.checkpointPath, next);
  }

  /** The file was rotated while the collector was down: finish the rotated file (`<path>.1`) first. */
  private async readRotatedWhileDown(
    f: Followed,
    saved: TailPosition,
    emit: (line: RawLogLine) => void,
  ): Promise<void> {
    const old = new FileTailer(`${f.ref.path}.1`, {
      chunkBytes: this.options.chunkBytes,
      maxLineBytes: this.options.maxLineBytes,
    });
    if (!(await old.open(saved))) return;
    if (old.position().inode === saved.inode)
      await old.poll((line, end, inode, bytes) => this.onLine(f, line, end, inode, bytes, emit));
    await old.close();
  }

  private onLine(
    f: Followed,
    line: string,
    end: number,
    inode: number,
    bytes: number,
    emit: (line: RawLogLine) => void,
  ): void {
    const e = parseEntry(f.ref.format, line, f.times);
    if (e === undefined) {
      // A corrupt or torn entry: counted, skipped, and not allowed to hold back the checkpoint.
      this.deps.report?.drop({ stage: 'sources.logfiles', reason: 'corrupt_line', container: f.ref.container });
      if (f.partial === undefined) f.committed = { inode, offset: end };
      return;
    }
    // A message that never ends is handed on once it reaches maxLineBytes.
    const tooLong = f.partial !== undefined && f.partial.text.length + e.text.length >= this.options.maxLineBytes;
    if (e.partial && !tooLong) {
      if (f.partial === undefined) f.partial = { ts: e.ts, stream: e.stream, text: e.text, rawBytes: bytes };
      else {
        f.partial.text += e.text;
        f.partial.rawBytes += bytes;
      }
      return;
    }
    const p = f.partial;
    f.partial = undefined;
    emit({
      ts: p?.ts ?? e.ts,
      container: f.ref.container,
      stream: e.stream,
      line: p === undefined ? e.text : p.text + e.text,
      rawBytes: (p?.rawBytes ?? 0) + bytes,
    });
    f.committed = { inode, offset: end };
  }

  private schedule(emit: (line: RawLogLine) => void, delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running !== undefined) return this.schedule(emit, delayMs);
      this.running = this.pollOnce(emit)
        .catch((err: unknown) =>
          this.deps.report?.drop({
            stage: 'sources.logfiles',
            reason: `poll_failed:${(err as NodeJS.ErrnoException).code ?? 'error'}`,
            container: '',
          }),
        )
        .finally(() => {
          this.running = undefined;
          this.schedule(emit, this.options.pollIntervalMs);
        });
    }, delayMs);
  }
}
