/**
 * Disk full on the gateway (issue 15): the real collector bin with its data directory on a 4 MiB
 * tmpfs that another writer fills to the last byte while it runs, tailing a live container,
 * its uplink through a real Mosquitto to a stand-in ingester that acknowledges. While the volume
 * is full the full-log store evicts its oldest segments to make room (counted), metric windows
 * and log windows keep reaching the uplink, and /metrics and the log say the volume is full; once
 * the filler is gone, lines are stored and batches queued again and the gauge clears. Nothing on
 * the volume is torn afterwards (the store and the outbox open without cutting anything, no
 * temporary files are left). Needs root for the mount: in CI it must run; elsewhere it skips
 * without root or Mosquitto. Started on a volume that is full already, it refuses with a clear
 * error every time until there is room.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Outbox } from '../../packages/collector/src/uplink/index.js';
import { LogStore, logStoreOptions } from '@edge-telemetry/collector';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { liveWriter } from '../support/json-file-backlog.js';
import { startAcker, type Acker } from '../uplink/acker.js';
import { caughtUp, runCollector, seqOf, type CollectorRun } from './rig.js';

const NODE = 'diskfull-gw';
const WINDOW_MS = 2000;
const isRoot = process.getuid?.() === 0;
if (process.env.CI && !isRoot) throw new Error('CI must run the disk-full test as root (it mounts a tmpfs)');

/** Writes to `file` until the volume says ENOSPC; returns the bytes written. */
async function fill(file: string): Promise<number> {
  const fh = await open(file, 'a');
  const buf = Buffer.alloc(16 * 1024, 0x5a);
  let n = 0;
  try {
    for (;;) {
      const { bytesWritten } = await fh.write(buf);
      n += bytesWritten;
      if (bytesWritten < buf.length) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
  return n;
}

describe.runIf(isRoot && haveMosquitto())('collector on a data volume that fills up', () => {
  let dir: string | undefined;
  let mnt: string | undefined;
  let mounted = false;
  let broker: Mosquitto | undefined;
  let acker: Acker | undefined;
  let run: CollectorRun | undefined;

  afterAll(async () => {
    await run?.stop('SIGKILL');
    await acker?.close();
    await broker?.stop();
    // Lazy: a process still holding a file there must not keep the mount (or the test) alive.
    if (mounted && mnt) execFileSync('umount', ['-l', mnt]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('evicts and counts, keeps collecting and shipping, says so, and recovers when space returns', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'col-diskfull-'));
    mnt = path.join(dir, 'data');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    mounted = true;
    broker = await startMosquitto();
    acker = await startAcker(broker.url);
    const a = acker;
    const root = path.join(dir, 'containers');
    const writer = liveWriter({ root, name: 'app', bytes: 20_000, everyMs: 100, firstSeq: 0 });
    const filler = path.join(mnt, 'filler');
    let freeAt = Infinity;
    try {
      run = await runCollector({
        dir,
        dataDir: mnt,
        node: NODE,
        dockerRoot: root,
        brokerUrl: broker.url,
        config: {
          scrapeIntervalMs: 1000,
          downsample: { windowMs: WINDOW_MS },
          // Segments small against the volume, as the defaults are against a real disk.
          store: { segmentBytes: 64 * 1024 },
          uplink: {
            mqtt: { url: broker.url, reconnectMinMs: 200, reconnectMaxMs: 2000 },
            outbox: { segmentBytes: 64 * 1024 },
          },
        },
      });
      const r = run;
      const m = async (name: string) => (await r.metric(name)) ?? 0;
      const alive = () => {
        if (r.child.exitCode !== null || r.child.signalCode !== null)
          throw new Error(`collector exited (${r.child.exitCode ?? r.child.signalCode}):\n${r.output().slice(-3000)}`);
      };
      const state = async () =>
        `full=${await m('data_dir.full')} store=${await m('store.bytes')}B evictions=${await m('store.disk_full_evictions')} ` +
        `lost=${await m('store.lost_lines')} refused=${await m('outbox.disk_full_refused')} batches=${a.stored.length}`;
      const batchesSince = (t: number) => a.stored.filter((b) => b.windowStart >= t);

      // Running normally: lines stored, batches acknowledged.
      await waitFor(
        'lines in the store and batches at the ingester',
        async () => (alive(), (await m('store.bytes')) > 0 && a.stored.length > 0),
        { timeoutMs: 60_000, intervalMs: 250 },
      );

      // Another writer takes every free byte.
      const fullAt = Date.now();
      expect(await fill(filler)).toBeGreaterThan(0);
      let last = '';
      await waitFor(
        () => `the collector to work on through a full volume (${last}); output:\n${r.output().slice(-3000)}`,
        async () => {
          alive();
          last = await state();
          const during = batchesSince(fullAt);
          return (
            (await m('data_dir.full')) === 1 &&
            (await m('store.disk_full_evictions')) > 0 &&
            // Metric summaries and log windows of the full period keep reaching the ingester.
            during.some((b) => b.metrics.length > 0) &&
            during.some((b) => b.templates.length > 0 || b.logs.length > 0)
          );
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(r.output()).toMatch(/"msg":"data volume full[^"]*".*"code":"ET_ERR_DISK_FULL"/);
      const linesWhenFull = await m('logs.lines_read');

      // Space returns.
      await rm(filler);
      freeAt = Date.now();
      const lostAtFree = await m('store.lost_lines');
      await waitFor(
        () => `the collector to recover (${last}); output:\n${r.output().slice(-3000)}`,
        async () => {
          alive();
          last = await state();
          return (
            (await m('data_dir.full')) === 0 &&
            (await m('logs.lines_read')) > linesWhenFull &&
            batchesSince(freeAt).some((b) => b.metrics.length > 0) &&
            batchesSince(freeAt).some((b) => b.templates.length > 0 || b.logs.length > 0)
          );
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(r.output()).toContain('"msg":"data volume has room again"');
      // Nothing is lost to the disk once it has room.
      const written = await writer.stop();
      // This run read the file from its first line: every entry written is a line read.
      await caughtUp(
        r,
        60_000,
        written.reduce((n, b) => n + b.entries, 0),
      );
      expect(await m('store.lost_lines')).toBe(lostAtFree);
      expect(await r.stop('SIGTERM')).toBe(0);
    } finally {
      await writer.stop();
    }

    const d = dir;
    const m = mnt;
    // Nothing torn: the store and the outbox open without cutting a byte, no temporary file is left.
    const store = await LogStore.open(logStoreOptions({ dir: path.join(mnt, 'logs') }));
    const stored = new Set<number>();
    for await (const l of store.query({ since: 0 })) stored.add(seqOf(l.line) as number);
    expect(store.stats().recoveries).toEqual([]);
    await store.close();
    const cuts: unknown[] = [];
    const outbox = await Outbox.open(
      { dir: path.join(mnt, 'outbox'), capBytes: 256 * 2 ** 20, recordCapBytes: 2 ** 20, segmentBytes: 64 * 1024 },
      { onCut: (c) => cuts.push(c), onOrphans: (n) => cuts.push({ orphans: n }) },
    );
    await outbox.close();
    expect(cuts).toEqual([]);
    const files = [
      ...(await readdir(mnt)),
      ...(await readdir(path.join(mnt, 'logs'))),
      ...(await readdir(path.join(mnt, 'outbox'))),
    ];
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Every line written after the filler went is in the store, but the last event of each stream:
    // at a clean stop the multi-line joiner still holds it (the checkpoint is before it, so the
    // next start reads it again). WARN+ events go to stderr, the rest to stdout.
    const seqs = writer.written.flatMap((b) => Array.from({ length: b.events }, (_, i) => b.nextSeq - b.events + i));
    const warn = new Set(writer.written.flatMap((b) => b.warnSeqs));
    const held = new Set([seqs.findLast((s) => warn.has(s)), seqs.findLast((s) => !warn.has(s))]);
    const after = writer.written
      .filter((b) => b.firstTs >= freeAt)
      .flatMap((b) => Array.from({ length: b.events }, (_, i) => b.nextSeq - b.events + i))
      .filter((s) => !held.has(s));
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((seq) => !stored.has(seq))).toEqual([]);

    // Started on a volume that is full already, it refuses with a clear error, as often as it is
    // restarted (it left an empty lock file once, and the next start crashed on it), and starts
    // once there is room.
    expect(await fill(filler)).toBeGreaterThan(0);
    const start = () =>
      runCollector({
        dir: d,
        dataDir: m,
        node: NODE,
        dockerRoot: path.join(d, 'containers'),
        brokerUrl: (broker as Mosquitto).url,
      });
    for (let i = 0; i < 2; i++) {
      run = await start();
      expect(await run.exited).toBe(1);
      expect(run.output()).toMatch(/ET_ERR_DATA_DIR_UNUSABLE.*ENOSPC/);
      expect(await readdir(m)).not.toContain('collector.lock');
    }
    await rm(filler);
    run = await start();
    const r = run;
    await waitFor(
      () => `the collector to start once there is room; output:\n${r.output()}`,
      () => r.output().includes('"msg":"collector started"'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await r.stop('SIGTERM')).toBe(0);
  }, 240_000);
});
