/**
 * Group commit for rows that arrive one at a time (dead letters, keyframe bodies; statuses below): a row goes to
 * ClickHouse at once when no insert of its kind is running, and rows that arrive meanwhile go
 * together in the next one. A burst therefore costs a few inserts (and parts) instead of one per
 * row, and a lone row waits for nothing. The embedded engine runs one statement at a time, so
 * each single-row insert saved is engine time given back to the writer. `minIntervalMs` spaces
 * the inserts of a steady stream (a flooding node's rejections): one of its kind per interval at
 * most, so such a stream takes a bounded share of the engine whatever its rate.
 */
export interface GroupCommit<T> {
  /** Queues a row; resolves true once it is stored, false when its insert failed or the queue was full. */
  add(row: T, bytes: number): Promise<boolean>;
  /** Resolves when every queued row is stored or dropped. */
  drain(): Promise<void>;
}

export interface GroupCommitOptions<T> {
  insert(rows: T[]): Promise<void>;
  /** Bound on the bytes queued while an insert runs (default 64 MiB); a row beyond it is refused (never the first). */
  maxQueueBytes?: number | undefined;
  /** Told of each failed insert (the rows' promises resolve false). */
  onError?(err: Error, rows: number): void;
  /** Told of each row refused for the queue bound (its promise resolves false). */
  onFull?(row: T): void;
  /** Least time from the start of one insert to the start of the next (default 0). */
  minIntervalMs?: number;
}

const pause = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

export function createGroupCommit<T>(o: GroupCommitOptions<T>): GroupCommit<T> {
  const maxQueueBytes = o.maxQueueBytes ?? 64 * 1024 * 1024;
  let queue: Array<{ row: T; done: (stored: boolean) => void }> = [];
  let queuedBytes = 0;
  let running: Promise<void> | undefined;

  /**
   * Inserts until the queue is empty and clears `running` in the same step that finds it empty, so a
   * row added at any time is either taken by this loop or starts the next one. Never throws.
   */
  async function run(): Promise<void> {
    while (queue.length > 0) {
      const startedAt = Date.now();
      const taken = queue;
      queue = [];
      queuedBytes = 0;
      let stored = true;
      try {
        await o.insert(taken.map((q) => q.row));
      } catch (err) {
        stored = false;
        o.onError?.(err as Error, taken.length);
      }
      for (const q of taken) q.done(stored);
      if (queue.length > 0) await pause(startedAt + (o.minIntervalMs ?? 0) - Date.now());
    }
    running = undefined;
  }

  return {
    add(row, bytes) {
      if (queuedBytes + bytes > maxQueueBytes && queue.length > 0) {
        o.onFull?.(row);
        return Promise.resolve(false);
      }
      const stored = new Promise<boolean>((done) => queue.push({ row, done }));
      queuedBytes += bytes;
      running ??= run();
      return stored;
    },
    async drain() {
      while (running) await running;
    },
  };
}

export interface LatestCommit<T> {
  /** Queues `row` as the latest of `key`, replacing one still queued for it. Never waits. */
  put(key: string, row: T): void;
  /** Resolves when every queued row is stored or dropped. */
  drain(): Promise<void>;
}

/**
 * Group commit that keeps only the latest row per key (a node's status): rows go to ClickHouse
 * at once when no insert runs, and while one runs a key's newer row replaces its older one, so a
 * node that sends thousands of statuses costs one row per insert, not one insert per message.
 * Best effort: a failed insert is reported to `onError` and its rows are dropped.
 */
export function createLatestCommit<T>(o: {
  insert(rows: T[]): Promise<void>;
  onError?(err: Error, rows: number): void;
  minIntervalMs?: number;
}): LatestCommit<T> {
  let queue = new Map<string, T>();
  let running: Promise<void> | undefined;

  async function run(): Promise<void> {
    while (queue.size > 0) {
      const startedAt = Date.now();
      const taken = [...queue.values()];
      queue = new Map();
      try {
        await o.insert(taken);
      } catch (err) {
        o.onError?.(err as Error, taken.length);
      }
      if (queue.size > 0) await pause(startedAt + (o.minIntervalMs ?? 0) - Date.now());
    }
    running = undefined;
  }

  return {
    put(key, row) {
      queue.delete(key);
      queue.set(key, row);
      running ??= run();
    },
    async drain() {
      while (running) await running;
    },
  };
}
