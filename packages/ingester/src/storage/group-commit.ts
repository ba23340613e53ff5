/**
 * Group commit for rows that arrive one at a time (dead letters, keyframe bodies): a row goes to
 * ClickHouse at once when no insert of its kind is running, and rows that arrive meanwhile go
 * together in the next one. A burst therefore costs a few inserts (and parts) instead of one per
 * row, and a lone row waits for nothing. The embedded engine runs one statement at a time, so
 * each single-row insert saved is engine time given back to the writer.
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
}

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
