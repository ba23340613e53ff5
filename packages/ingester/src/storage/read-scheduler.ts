/**
 * How the HTTP API's reads share ClickHouse with the writer, so that no one client's reads slow
 * the ingestion of every node (session 12: one viewer looping a 3 s log search took every other
 * node's ack p50 from 0.7 to 7 s on the embedded engine, which runs one statement at a time, so
 * each insert queued behind a whole search).
 *
 * - Everything but the API's reads (writer, dead letters, statuses, caches, auth, pulls, fleet)
 *   uses `client`, whose statements are tracked while in flight.
 * - An API read statement runs through `reads.run`: it takes one of `concurrency` slots, then waits
 *   for the statements in flight at that moment (at most statementMs: one that hangs does not stop
 *   every read), then one event-loop turn, so that the writer's next statement, issued as its last
 *   one ended, goes first. A writer statement therefore waits behind at most `concurrency` read
 *   statements (1 by default, each bounded by its own SETTINGS, bounded-reads.ts), and reads are
 *   never starved: each waits only for what was in flight when its turn came.
 * - While the writer works, reads get at most half of the engine's time: after a read statement
 *   that a statement of the writer queued behind, the next read waits as long again. A flush is
 *   several statements in a row (claims, their read, the table inserts, the ledger), which then run
 *   through instead of meeting a read at each step; a client looping a read of seconds (a week of
 *   templates) holds the writer at most once per flush, not once per statement.
 * - Waiting reads take turns by token, one statement each (a log search is many short statements,
 *   so another token's read runs between two of its slices); a token with `waitingPerToken` reads
 *   waiting is refused the next (429).
 * The same code runs on a server (CLICKHOUSE_URL), where the bounds still cap each read's time and
 * bytes and the reads that run at once.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import type { ReadOptionsT } from './read-options.js';

/** What the API's reads did since start (in /metrics). */
export interface ReadCounters {
  statements: number;
  /** Refused: the token had waitingPerToken reads waiting. */
  refused: number;
  /** Statements stopped by their time or bytes bound. */
  overLimit: number;
}

/** The counters with the reads waiting for a slot and running now. */
export type ReadFigures = ReadCounters & { waiting: number; running: number };

export interface ReadScheduler {
  /** The client API reads use: their statements are not tracked (they are the ones that wait). */
  client: ClickHouseClient;
  /** Runs one read statement of `token` when its turn comes (see above). */
  run<T>(token: string, statement: () => Promise<T>): Promise<T>;
  counters: ReadCounters;
  /** Read statements waiting for a slot, and running. */
  state(): { waiting: number; running: number };
}

export interface EngineShare {
  /** The client for everything but the API's reads. */
  client: ClickHouseClient;
  reads: ReadScheduler;
}

const STATEMENT_METHODS = ['query', 'exec', 'insert', 'command'] as const;

/** `client` with its statements noted in `inFlight` until they settle; close, ping and the rest as they are. */
function tracked(client: ClickHouseClient, inFlight: Set<Promise<unknown>>): ClickHouseClient {
  const wrapped = Object.create(client) as ClickHouseClient;
  for (const name of STATEMENT_METHODS) {
    const call = (client[name] as (params: unknown) => Promise<unknown>).bind(client);
    Object.defineProperty(wrapped, name, {
      value: (params: unknown) => {
        const p = call(params);
        inFlight.add(p);
        const settled = () => inFlight.delete(p);
        p.then(settled, settled);
        return p;
      },
    });
  }
  return wrapped;
}

/** Time for the engine share (tests step it). */
export interface ShareClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: ShareClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export function shareEngine(
  client: ClickHouseClient,
  opts: Pick<ReadOptionsT, 'concurrency' | 'waitingPerToken' | 'statementMs'>,
  clock: ShareClock = realClock,
): EngineShare {
  const inFlight = new Set<Promise<unknown>>();
  /** Waiting statements by token, tokens in turn order (a Map keeps insertion order). */
  const waiting = new Map<string, (() => Promise<void>)[]>();
  let running = 0;
  const counters: ReadCounters = { statements: 0, refused: 0, overLimit: 0 };
  /** Reads leave the engine to the writer until then (above). */
  let writerUntil = 0;

  async function afterForeground(): Promise<void> {
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => (timer = setTimeout(r, opts.statementMs))),
      ]);
      clearTimeout(timer);
    }
    const owed = writerUntil - clock.now();
    if (owed > 0) await clock.sleep(owed);
    await new Promise((r) => setImmediate(r));
  }

  /** A read statement, and the writer's time after it when the writer queued behind it. */
  async function timed(start: () => Promise<void>): Promise<void> {
    const t0 = clock.now();
    await start();
    const end = clock.now();
    if (inFlight.size > 0) writerUntil = Math.max(writerUntil, end + (end - t0));
  }

  function pump(): void {
    while (running < opts.concurrency && waiting.size > 0) {
      const [token, queue] = waiting.entries().next().value as [string, (() => Promise<void>)[]];
      const start = queue.shift()!;
      // The token goes to the back of the turn order, or leaves it with nothing left waiting.
      waiting.delete(token);
      if (queue.length > 0) waiting.set(token, queue);
      running++;
      counters.statements++;
      void afterForeground()
        .then(() => timed(start))
        .then(() => {
          running--;
          pump();
        });
    }
  }

  const reads: ReadScheduler = {
    client,
    run<T>(token: string, statement: () => Promise<T>): Promise<T> {
      const queue = waiting.get(token) ?? [];
      if (queue.length >= opts.waitingPerToken) {
        counters.refused++;
        return Promise.reject(
          new IngesterError(
            'ET_ERR_TOO_MANY_READS',
            `this token has ${queue.length} reads waiting for the engine (reads.waitingPerToken); retry when one has answered`,
          ),
        );
      }
      return new Promise<T>((resolve, reject) => {
        queue.push(() => statement().then(resolve, reject));
        if (!waiting.has(token)) waiting.set(token, queue);
        pump();
      });
    },
    counters,
    state: () => ({ waiting: [...waiting.values()].reduce((n, q) => n + q.length, 0), running }),
  };
  return { client: tracked(client, inFlight), reads };
}
