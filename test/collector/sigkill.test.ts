/**
 * Nothing tailed is lost, nothing is counted twice (issue 15): the real collector bin tails a
 * growing json-file and is killed with SIGKILL at random moments, 20 times (100 with ET_SOAK=1),
 * then runs to the end. Every WARN+ line is in ClickHouse exactly once, the template counts add
 * up to the lines read, and the full-log store holds every line once: the reading position is
 * made durable in the same outbox write as the windows of the lines before it, and a seal cut
 * short by the kill is dropped whole at the next start and its lines read again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrng } from '@edge-telemetry/collector';
import { haveMosquitto } from '../support/mosquitto.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { liveWriter } from '../support/json-file-backlog.js';
import { caughtUp, runCollector, seqOf, storedLines, type CollectorRun } from './rig.js';

const KILLS = process.env.ET_SOAK ? 100 : 20;
const NODE = 'sigkill-gw';
const WINDOW_MS = 2000;

describe.runIf(haveMosquitto())(`collector killed ${KILLS} times while tailing a growing file`, () => {
  let dir: string | undefined;
  let stack: Stack | undefined;
  let run: CollectorRun | undefined;

  afterAll(async () => {
    await run?.stop('SIGKILL');
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores every WARN+ line once, template counts equal to the lines read, every line once in the store', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-sigkill-'));
    stack = await startStack();
    const s = stack;
    const root = path.join(dir, 'containers');
    // About 150 lines a second, stamped as they are written.
    const writer = liveWriter({ root, name: 'app', bytes: 4000, everyMs: 100, firstSeq: 0 });
    const start = () =>
      runCollector({
        dir: dir as string,
        node: NODE,
        dockerRoot: root,
        brokerUrl: s.broker.url,
        config: { scrapeIntervalMs: 1000, downsample: { windowMs: WINDOW_MS } },
      });
    const rnd = createPrng(15);
    try {
      for (let k = 0; k < KILLS; k++) {
        run = await start();
        // From the middle of start-up to a few windows in.
        await new Promise((r) => setTimeout(r, 100 + rnd() * 2500));
        run.child.kill('SIGKILL');
        await run.exited;
      }
    } finally {
      await writer.stop();
    }
    const written = writer.written;
    run = await start();
    await caughtUp(run, 60_000);
    const warn = written.flatMap((b) => b.warnSeqs);
    const shipped = written.reduce((n, b) => n + b.events - b.levels.debug, 0);
    const query = async <T>(sql: string): Promise<T[]> =>
      (await (await s.clickhouse.query({ query: sql, format: 'JSONEachRow' })).json()) as T[];
    let state = '';
    await waitFor(
      () => `every window in ClickHouse (${state}); collector:\n${run?.output().slice(-2000)}`,
      async () => {
        const [w] = await query<{ n: string }>(
          `SELECT count() AS n FROM et_logs WHERE NodeName = '${NODE}' AND SeverityNumber >= 13`,
        );
        const [t] = await query<{ n: string }>(
          `SELECT sum(Count) AS n FROM et_log_templates WHERE NodeName = '${NODE}'`,
        );
        state = `${w?.n}/${warn.length} WARN+ lines, template count ${t?.n}/${shipped}`;
        return Number(w?.n) >= warn.length && Number(t?.n) >= shipped;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(await run.stop('SIGTERM')).toBe(0);

    const rows = await query<{ b: string }>(
      `SELECT Body AS b FROM et_logs WHERE NodeName = '${NODE}' AND SeverityNumber >= 13`,
    );
    const seen = new Map<number, number>();
    for (const r of rows) seen.set(seqOf(r.b) as number, (seen.get(seqOf(r.b) as number) ?? 0) + 1);
    const twice = warn.filter((x) => (seen.get(x) ?? 0) > 1);
    const missing = warn.filter((x) => (seen.get(x) ?? 0) === 0);
    expect({ twice: twice.length, missing: missing.length, rows: rows.length }).toEqual({
      twice: 0,
      missing: 0,
      rows: warn.length,
    });
    const [t] = await query<{ n: string }>(`SELECT sum(Count) AS n FROM et_log_templates WHERE NodeName = '${NODE}'`);
    expect(Number(t?.n)).toBe(shipped);

    const stored = (await storedLines(path.join(dir, 'data'))).map((l) => seqOf(l.line));
    const events = written.reduce((n, b) => n + b.events, 0);
    const have = new Set(stored);
    const notStored = Array.from({ length: events }, (_, i) => i).filter((i) => !have.has(i));
    const drops = await query(
      `SELECT Stage, Reason, sum(Count) AS n FROM et_drops WHERE NodeName = '${NODE}' GROUP BY Stage, Reason`,
    );
    expect({ notStored, drops }).toEqual({ notStored: [], drops });
    expect(stored.length).toBe(events);
  }, 600_000);
});
