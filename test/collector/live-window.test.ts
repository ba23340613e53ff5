/**
 * A live window leaves once, metrics and logs together, at the node's seal offset: the real
 * collector bin tails a json-file that a container writes to four times a second, through a real
 * Mosquitto to a stand-in ingester. Every whole window it tails must arrive as the batches of one
 * seal (one `sentAt`), carrying both the metric summaries the seal tick closes and the window's
 * log rows, and sent no earlier than the window's end plus the lateness bound plus the node's
 * share of `downsample.sealJitterMs`. Before, the reader's ready() sealed the live log window about
 * a second after its end and the lateness bound, before the tick: two seals per window, and the
 * logs of every gateway left at the same second whatever its offset (the demo log source of the
 * fleet bench never calls ready(), so the bench did not show it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Batch } from '@edge-telemetry/protocol';
import { sealDelayMs } from '../../packages/collector/src/runtime/aligned-timer.js';
import { logPipelineOptions } from '../../packages/collector/src/transforms/logs/options.js';
import { liveWriter } from '../support/json-file-backlog.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { startAcker, type Acker } from '../uplink/acker.js';
import { runCollector, tearDown, type CollectorRun } from './rig.js';

const NODE = 'live-tailing-gw';
/** Short windows (the smallest that keep the default lateness bound and a large offset) so that the test sees several. */
const WINDOW_MS = 8000;
/** A quarter of the window, the most an offset may be. */
const JITTER_MS = 2000;
/** Whole windows checked. */
const WINDOWS = 3;
/** The aligned timer may fire a little before the wall clock reaches its tick (aligned-timer.ts). */
const TIMER_EARLY_MS = 20;

describe.runIf(haveMosquitto())('live tailing', () => {
  const parts: { dir?: string; broker?: Mosquitto; acker?: Acker; run?: CollectorRun } = {};
  afterAll(() => tearDown(parts));

  it("sends each window once, metrics and logs in one seal, at the node's seal offset", async () => {
    const offset = sealDelayMs(NODE, { sealJitterMs: JITTER_MS, windowMs: WINDOW_MS });
    const lateness = logPipelineOptions({}).window.latenessMs;
    // The reader sealed a live window within about a second after its end and the lateness bound:
    // an offset well past that tells the tick's seal from the reader's.
    expect(offset).toBeGreaterThan(1500);
    const dir = (parts.dir = await mkdtemp(path.join(os.tmpdir(), 'col-live-window-')));
    const broker = (parts.broker = await startMosquitto());
    const acker = (parts.acker = await startAcker(broker.url));
    const root = path.join(dir, 'containers');
    const writer = liveWriter({ root, name: 'live', bytes: 1500, everyMs: 250, firstSeq: 0 });
    let windows: number[] | undefined;
    const ofWindow = (start: number): Batch[] =>
      acker.stored.filter((b) => b.node === NODE && b.windowStart === start && b.windowEnd === start + WINDOW_MS);
    try {
      const run = (parts.run = await runCollector({
        dir,
        node: NODE,
        dockerRoot: root,
        brokerUrl: broker.url,
        config: { scrapeIntervalMs: 1000, downsample: { windowMs: WINDOW_MS, sealJitterMs: JITTER_MS } },
      }));
      // Started (its windows begin when it starts, which a loaded machine may take seconds to do).
      await waitFor(
        () => `the collector to listen; output:\n${run.output().slice(-3000)}`,
        () => run.httpUrl() !== undefined,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      // The first window that is whole after the start, and the ones after it.
      const first = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
      windows = Array.from({ length: WINDOWS }, (_, i) => first + i * WINDOW_MS);
      const after = first + WINDOWS * WINDOW_MS;
      // The tick of the window after the last one checked has sealed: the seals of those are all in.
      await waitFor(
        () => `the seal of the window at ${new Date(after).toISOString()}; output:\n${run.output().slice(-3000)}`,
        () => {
          if (run.child.exitCode !== null) throw new Error(`collector exited (${run.child.exitCode})`);
          return ofWindow(after).some((b) => b.metrics.some((m) => m.container === '_collector'));
        },
        { timeoutMs: (WINDOWS + 3) * WINDOW_MS + 60_000, intervalMs: 250 },
      );
      expect(await run.stop('SIGTERM')).toBe(0);
    } finally {
      await writer.stop();
    }

    expect(windows).toHaveLength(WINDOWS);
    for (const start of windows as number[]) {
      const batches = ofWindow(start);
      const end = start + WINDOW_MS;
      const seals = [...new Set(batches.map((b) => b.sentAt))].sort((a, b) => a - b);
      const told = `window ${new Date(start).toISOString()}: seals at ${seals.map((t) => `end+${t - end} ms`).join(', ')}`;
      expect(seals, told).toHaveLength(1);
      expect(
        batches.some((b) => b.metrics.some((m) => m.container === '_collector')),
        `${told}: the tick's metric summaries`,
      ).toBe(true);
      expect(
        batches.some(
          (b) => b.logs.some((l) => l.container === 'live') || b.templates.some((t) => t.container === 'live'),
        ),
        `${told}: the window's log rows`,
      ).toBe(true);
      expect(seals[0], told).toBeGreaterThanOrEqual(end + lateness + offset - TIMER_EARLY_MS);
    }
  }, 180_000);
});
