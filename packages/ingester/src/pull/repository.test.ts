import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { chunkRows } from './line-rows.js';
import { loadOrphans, loadResumePoint, saveLines, savePull, type PullRecord } from './repository.js';

// One engine for the file: each case reads only its own table (pulled lines, pull states).
let ch: EmbeddedClickHouse;
beforeAll(async () => {
  ch = await openMigrated('pull-repository');
}, 60_000);
afterAll(async () => ch?.close());

describe('loadResumePoint', () => {
  it('finds the chunk holding line `from` and the lines before it there, each line once', async () => {
    // Chunks of 3, 1, 4 and 2 lines; chunk 2 stored twice (a resend), chunk 5 stored past a gap.
    const sizes = [3, 1, 4, 2];
    const at = Math.floor(Date.now() / 1000);
    const rows = sizes.flatMap((n, seq) =>
      chunkRows(
        'p1',
        seq,
        Array.from({ length: n }, (_, i) => `line ${seq}.${i}`),
        at,
      ),
    );
    await saveLines(ch.client, rows);
    await saveLines(ch.client, chunkRows('p1', 2, ['line 2.0', 'line 2.1', 'line 2.2', 'line 2.3'], at));
    await saveLines(ch.client, chunkRows('p1', 5, ['line 5.0'], at));
    await saveLines(ch.client, chunkRows('other', 0, ['x', 'y', 'z', 'w', 'v', 'u', 't', 's', 'r', 'q', 'p'], at));
    // What a reader of the chunks in order gets: the chunk and index of each line.
    const want = (from: number) => {
      let seq = 0;
      let skip = from;
      while (seq < sizes.length && (sizes[seq] as number) <= skip) skip -= sizes[seq++] as number;
      return { seq, skip };
    };
    for (let from = 0; from <= 13; from++)
      expect([from, await loadResumePoint(ch.client, 'p1', from, sizes.length)]).toEqual([from, want(from)]);
    // Fewer chunks whole so far (a running pull): past them, the rest is skipped as chunks come.
    expect(await loadResumePoint(ch.client, 'p1', 5, 2)).toEqual({ seq: 2, skip: 1 });
    expect(await loadResumePoint(ch.client, 'p1', 3, 0)).toEqual({ seq: 0, skip: 3 });
  }, 60_000);
});

describe('loadOrphans', () => {
  it("finds the unfinished pulls whose owner is silent, gave them up, or is the caller's previous run", async () => {
    const t = Date.UTC(2026, 11, 7, 4);
    const pull = (id: string, state: PullRecord['state'], owner: string | undefined, writtenAt: number) =>
      savePull(
        ch.client,
        {
          id,
          node: 'n',
          state,
          filter: { since: 0 },
          requestedBy: 'r',
          createdAt: t - 60_000,
          expiresAt: t + 600_000,
          linesReceived: 0,
          bytesReceived: 0,
          owner,
        },
        writtenAt,
      );
    await pull('silent', 'queued', 'dead', t - 31_000);
    await pull('silent-running', 'running', 'dead', t - 31_000);
    await pull('alive', 'running', 'other', t - 1_000);
    await pull('handed-over', 'running', undefined, t - 1_000);
    // The caller started at t - 500: its previous run's pull, and one it runs now (written since).
    await pull('own', 'queued', 'me', t - 1_000);
    await pull('own-running', 'running', 'me', t - 100);
    await pull('finished', 'done', 'dead', t - 31_000);
    // A later row is the pull's state: written again by its owner, it is not silent any more.
    await pull('revived', 'running', 'dead', t - 31_000);
    await pull('revived', 'running', 'dead', t - 1_000);
    const ids = (await loadOrphans(ch.client, t - 30_000, { id: 'me', since: t - 500 })).map((r) => r.id).sort();
    expect(ids).toEqual(['handed-over', 'own', 'silent', 'silent-running']);
  }, 60_000);
});
