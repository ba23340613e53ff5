/**
 * A backlog's last windows leave once its reading ends, not at the next seal tick (issue 15): the
 * real collector bin reads a json-file backlog of an exited container (its file idle for an hour,
 * so it rests once read to its end, and the reader calls its sink no more) through a real
 * Mosquitto into the ingester on embedded ClickHouse. Windows are an hour long, so the seal tick
 * is up to an hour away when reading ends; every WARN+ line must be in ClickHouse exactly once
 * within BACKLOG_SEAL_EVERY_MS of that, plus what the seal's write, the publish and the
 * ingester's insert take on a loaded machine. Before, the last windows waited for the tick (in
 * `collector.backlog`, 15-60 s with the default minute windows).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BACKLOG_SEAL_EVERY_MS } from '../../packages/collector/src/collector.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { writeJsonFileBacklog } from '../support/json-file-backlog.js';
import { caughtUp, runCollector, seqOf, tearDown, type CollectorRun } from './rig.js';

const NODE = 'last-window-gw';
const HOUR = 3_600_000;
/**
 * What the seal's outbox write, the publish and the ingester's ClickHouse insert may take on a
 * loaded 2-core machine after the seal is due: far under the hour the seal tick may be away.
 */
const DELIVERY_SLACK_MS = 30_000;

describe.runIf(haveMosquitto())("a backlog's last windows, once its reading has ended", () => {
  const parts: { dir?: string; stack?: Stack; run?: CollectorRun } = {};
  afterAll(() => tearDown(parts));

  it(`are in ClickHouse within BACKLOG_SEAL_EVERY_MS (+${DELIVERY_SLACK_MS / 1000} s) of reading caught up, each WARN+ line once`, async () => {
    const dir = (parts.dir = await mkdtemp(path.join(os.tmpdir(), 'col-last-window-')));
    const s = (parts.stack = await startStack());
    const root = path.join(dir, 'containers');
    // Under one read (sources.logFiles.chunkBytes, 64 KiB): the reader calls its sink once, on the
    // very first start, when it saves where reading starts, and never again, so nothing but
    // sealLater seals before the tick. ~190 entries at one every 2 s of runtime time, ending over
    // an hour ago: their window ended before reading starts.
    const backlog = await writeJsonFileBacklog({
      root,
      name: 'app',
      bytes: 48 * 1024,
      linesPerSecond: 0.5,
      startMs: Date.now() - 2 * HOUR,
    });
    expect(backlog.bytes).toBeLessThan(64 * 1024);
    expect(backlog.lastTs).toBeLessThan(Math.floor(Date.now() / HOUR) * HOUR);
    // An exited container's log: written to last at its last line.
    await utimes(backlog.file, new Date(backlog.lastTs), new Date(backlog.lastTs));
    const r = await runCollector({
      dir,
      node: NODE,
      dockerRoot: root,
      brokerUrl: s.broker.url,
      config: { downsample: { windowMs: HOUR } },
    });
    parts.run = r;
    await caughtUp(r, 120_000, backlog.entries);
    const readAt = Date.now();
    const nextTick = Math.floor(readAt / HOUR) * HOUR + HOUR;

    const warnRows = async () =>
      (await (
        await s.clickhouse.query({
          query: `SELECT Body AS b FROM et_logs WHERE NodeName = '${NODE}' AND ContainerName = 'app' AND SeverityNumber >= 13`,
          format: 'JSONEachRow',
        })
      ).json()) as Array<{ b: string }>;
    let have = 0;
    await waitFor(
      () =>
        `${backlog.warnSeqs.length} WARN+ lines in ClickHouse (${have} there ${Date.now() - readAt} ms after reading ` +
        `caught up; the next seal tick at ${new Date(nextTick).toISOString()}); output:\n${r.output().slice(-3000)}`,
      async () => (have = (await warnRows()).length) >= backlog.warnSeqs.length,
      { timeoutMs: BACKLOG_SEAL_EVERY_MS + DELIVERY_SLACK_MS, intervalMs: 250 },
    );
    // The file rested (no more reads, so no more calls to the sink): the windows went all the same.
    expect(await r.metric('logs.files_rested')).toBe(1);

    const seen = new Map<number, number>();
    for (const row of await warnRows()) {
      const seq = seqOf(row.b);
      expect(seq, row.b).toBeDefined();
      seen.set(seq as number, (seen.get(seq as number) ?? 0) + 1);
    }
    expect(seen.size).toBe(backlog.warnSeqs.length);
    for (const seq of backlog.warnSeqs) expect(seen.get(seq), `seq ${seq}`).toBe(1);
    expect(await r.stop('SIGTERM')).toBe(0);
  }, 300_000);
});
