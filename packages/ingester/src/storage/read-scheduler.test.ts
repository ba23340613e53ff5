/**
 * The turn-taking alone, with statements whose end each case decides (the engine's side is in
 * test/security/log-search.test.ts): a read waits for the statements in flight when its turn
 * comes and for no later one, leaves the writer as long again after a read it queued behind,
 * tokens take turns, and a token's waiting reads are bounded.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { shareEngine } from './read-scheduler.js';

/** A statement that ends when the case says. */
function deferred() {
  let end!: () => void;
  const done = new Promise<void>((r) => (end = r));
  return { done, end };
}

/** Lets every callback that is ready run (promise jobs and the scheduler's event-loop turn). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A client whose every statement runs until the next deferred in `statements` ends. */
function clientOf(statements: { done: Promise<void> }[]): ClickHouseClient {
  const next = () => statements.shift()!.done;
  return { query: next, exec: next, insert: next, command: next } as unknown as ClickHouseClient;
}

const OPTIONS = { concurrency: 1, waitingPerToken: 2, statementMs: 60_000 };

describe('read scheduler', () => {
  it('starts a read after the statements in flight when its turn came, not after later ones', async () => {
    const insert = deferred();
    const merge = deferred();
    const later = deferred();
    const engine = shareEngine(clientOf([insert, merge, later]), OPTIONS);
    const events: string[] = [];
    void engine.client.insert({ table: 't', values: [] }).then(() => events.push('insert'));
    const read = engine.reads.run('viewer', async () => events.push('read'));
    await settle();
    expect(events).toEqual([]);
    insert.end();
    await read;
    expect(events).toEqual(['insert', 'read']);
    // A statement issued while a read waits is not waited for: a busy writer does not starve reads.
    void engine.client.command({ query: 'OPTIMIZE TABLE t' }).then(() => events.push('merge'));
    const second = engine.reads.run('viewer', async () => events.push('second read'));
    await settle();
    void engine.client.exec({ query: 'SELECT 1' }).then(() => events.push('later'));
    merge.end();
    await second;
    expect(events).toEqual(['insert', 'read', 'merge', 'second read']);
    later.end();
  });

  it('leaves the writer as long again after a read that it queued behind', async () => {
    let now = 0;
    const slept: number[] = [];
    let wake!: () => void;
    const clock = {
      now: () => now,
      sleep: (ms: number) => {
        slept.push(ms);
        return new Promise<void>((r) => (wake = r));
      },
    };
    const insert = deferred();
    const engine = shareEngine(clientOf([insert]), OPTIONS, clock);
    const events: string[] = [];
    await engine.reads.run('viewer', async () => {
      events.push('read 1');
      // The writer's statement arrives while the read runs, and the read takes 40 ms.
      void engine.client.insert({ table: 't', values: [] }).then(() => events.push('insert'));
      now += 40;
    });
    insert.end();
    const second = engine.reads.run('viewer', async () => events.push('read 2'));
    await settle();
    expect([events, slept]).toEqual([['read 1', 'insert'], [40]]);
    now += 40;
    wake();
    await second;
    expect(events).toEqual(['read 1', 'insert', 'read 2']);
    // No statement of the writer behind the second read: the third goes at once.
    await engine.reads.run('viewer', async () => events.push('read 3'));
    expect(slept).toEqual([40]);
  });

  it('takes turns by token, one statement each, and refuses a token more than waitingPerToken waiting reads', async () => {
    const engine = shareEngine(clientOf([]), OPTIONS);
    const order: string[] = [];
    const first = deferred();
    const run = (token: string, name: string, until?: Promise<void>) =>
      engine.reads.run(token, async () => {
        order.push(name);
        await until;
      });
    const all = [run('a', 'a1', first.done), run('a', 'a2'), run('a', 'a3'), run('b', 'b1')];
    await expect(run('a', 'a4')).rejects.toMatchObject({ code: 'ET_ERR_TOO_MANY_READS' });
    expect(engine.reads.counters.refused).toBe(1);
    expect(engine.reads.state()).toEqual({ waiting: 3, running: 1 });
    first.end();
    await Promise.all(all);
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3']);
    expect(engine.reads.counters.statements).toBe(4);
  });
});
