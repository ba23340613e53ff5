/**
 * A filter pattern that backtracks catastrophically cannot stop a node. Found by the session-9
 * trial: `logs.defaults.filter.exclude: ["(a+)+$"]` (a valid pattern, so the configuration check
 * and a remote `config set` take it) and one log line of 40 "a"s and a "!" blocked the collector's
 * event loop for minutes (28 "a"s: 15 s): no line read after it, no /metrics answer, no window
 * sealed. The real collector bin over a json-file root; it must read every line and answer.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerId } from '../support/json-file-backlog.js';
import { caughtUp, runCollector, type CollectorRun } from './rig.js';

const LINES = 20;

describe('collector: a catastrophically backtracking filter pattern', () => {
  let dir: string;
  let run: CollectorRun | undefined;
  afterAll(async () => {
    await run?.stop('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads and filters every line and keeps answering', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-redos-'));
    const root = path.join(dir, 'docker');
    const id = containerId('app');
    await mkdir(path.join(root, id), { recursive: true });
    await writeFile(path.join(root, id, 'config.v2.json'), JSON.stringify({ Name: '/app' }));
    const t = Date.now() - 60_000;
    const entry = (i: number, log: string) =>
      JSON.stringify({ log: `${log}\n`, stream: 'stdout', time: new Date(t + i).toISOString() }) + '\n';
    // Every other line is the pattern's worst case; each alone would take the backtracking engine hours.
    const lines = Array.from({ length: LINES }, (_, i) => entry(i, i % 2 === 0 ? `${'a'.repeat(40)}!` : `ok ${i}`));
    await writeFile(path.join(root, id, `${id}-json.log`), lines.join(''));
    run = await runCollector({
      dir,
      node: 'gw-redos',
      dockerRoot: root,
      // No broker: the log path runs without one.
      brokerUrl: 'mqtt://127.0.0.1:1',
      config: { logs: { defaults: { filter: { exclude: ['(a+)+$'] } } } },
    });
    await caughtUp(run, 60_000, LINES);
    expect(await run.metric('logs.lines_read')).toBe(LINES);
  }, 90_000);
});
