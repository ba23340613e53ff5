/**
 * The simulated fleet seen from the main thread: its nodes split into contiguous shards, one
 * worker thread each (one event loop per core), with requests for figures and a clean stop.
 */
import { Worker } from 'node:worker_threads';
import type { CorpusDataset, DemoSeries } from '@edge-telemetry/collector';
import type { NodeFigures } from './figures.js';
import type { SimulateOptions } from './options.js';
import type { LoopDelay, ShardInput } from './fleet-shard.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

export interface Fleet {
  /** Every node's figures, and the worst worker thread's event-loop delay since the last call. */
  figures(): Promise<{ nodes: NodeFigures[]; loopDelay: LoopDelay }>;
  stop(): Promise<NodeFigures[]>;
}

/** Node index ranges [from, to) for each worker, as even as possible. */
export function shardRanges(nodes: number, workers: number): Array<{ from: number; to: number }> {
  return Array.from({ length: workers }, (_, w) => ({
    from: Math.floor((w * nodes) / workers),
    to: Math.floor(((w + 1) * nodes) / workers),
  }));
}

class ShardWorker {
  private readonly worker: Worker;
  private waiting: Array<{ type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }> =
    [];

  constructor(input: ShardInput) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: input });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'failed')
        return this.failAll(Object.assign(new Error(`simulator worker failed: ${m.error}`), { code: m.code }));
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]?.resolve(m);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`simulator worker exited (${code})`)));
  }

  next<T extends FromWorker['type']>(type: T, request?: ToWorker): Promise<Extract<FromWorker, { type: T }>> {
    const p = new Promise<FromWorker>((resolve, reject) => this.waiting.push({ type, resolve, reject }));
    if (request) this.worker.postMessage(request);
    return p as Promise<Extract<FromWorker, { type: T }>>;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private failAll(err: Error): void {
    const w = this.waiting;
    this.waiting = [];
    for (const x of w) x.reject(err);
  }
}

export async function startFleet(
  options: SimulateOptions,
  series: DemoSeries,
  corpus: CorpusDataset[] | undefined,
  credentials: Record<string, string> = {},
): Promise<Fleet> {
  const workers = shardRanges(options.nodes, options.workers).map(
    (r) => new ShardWorker({ options, ...r, series, corpus, credentials }),
  );
  try {
    await Promise.all(workers.map((w) => w.next('started')));
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return {
    async figures() {
      const got = await Promise.all(workers.map((w) => w.next('figures', { type: 'figures' })));
      return {
        nodes: got.flatMap((m) => m.figures),
        loopDelay: {
          p99Ms: Math.max(...got.map((m) => m.loopDelay.p99Ms)),
          maxMs: Math.max(...got.map((m) => m.loopDelay.maxMs)),
        },
      };
    },
    stop: async () =>
      (await Promise.all(workers.map((w) => w.next('stopped', { type: 'stop' })))).flatMap((m) => m.figures),
  };
}
