import { describe, expect, it } from 'vitest';
import type { Sample } from '../sources/types.js';
import { SELF_CONTAINER, SelfHealth, type ProcessProbe } from './self-health.js';

const get = (s: Sample[], metric: string): number | undefined => s.find((x) => x.metric === metric)?.value;

describe('SelfHealth', () => {
  it('reads its instruments as deltas per collect and reports its own CPU and RSS', async () => {
    const clock = { cpu: 0, wall: 0, rss: 90 * 2 ** 20 };
    const probe: ProcessProbe = { cpuMicros: () => clock.cpu, nowMs: () => clock.wall, rssBytes: () => clock.rss };
    const h = new SelfHealth({ probe });
    h.observeValues({
      gauges: {
        'queue.batches': { help: 'batches', read: () => 3 },
        'queue.bytes': { help: 'bytes', unit: 'By', read: () => 12_000 },
      },
    });
    h.instruments.bytesSent.add(1000);
    h.instruments.bytesSent.add(1000);
    h.instruments.drops.add(2, { stage: 'metrics.cardinality', reason: 'series_cap' });
    // 150 ms of CPU over 10 s of wall time: 1.5% of one core.
    clock.cpu = 150_000;
    clock.wall = 10_000;
    const a = await h.collect(60_000);
    expect(a.every((s) => s.container === SELF_CONTAINER && s.ts === 60_000)).toBe(true);
    expect(get(a, 'uplink.bytes_sent')).toBe(2000);
    expect(get(a, 'drops.series_cap.metrics.cardinality')).toBe(2);
    expect(get(a, 'queue.batches')).toBe(3);
    expect(get(a, 'queue.bytes')).toBe(12_000);
    expect(get(a, 'process.cpu_pct')).toBeCloseTo(1.5, 9);
    expect(get(a, 'process.rss_bytes')).toBe(90 * 2 ** 20);

    // DELTA: the next collect holds only what happened since the previous one.
    h.instruments.bytesSent.add(500);
    clock.wall = 20_000;
    const b = await h.collect(120_000);
    expect(get(b, 'uplink.bytes_sent')).toBe(500);
    expect(get(b, 'process.cpu_pct')).toBe(0);
    await h.close();
  });

  it("gathers a group's snapshot once per collect, for every value read from it", async () => {
    const h = new SelfHealth();
    let snapshots = 0;
    let lines = 0;
    h.observeValues({
      snapshot: () => ({ n: ++snapshots, lines }),
      gauges: { 'a.count': { help: 'a', read: (s) => s.n }, 'a.again': { help: 'b', read: (s) => s.n } },
      totals: { 'a.lines': { help: 'c', read: (s) => s.lines } },
    });
    lines = 7;
    const a = await h.collect(1);
    expect([snapshots, get(a, 'a.count'), get(a, 'a.again'), get(a, 'a.lines')]).toEqual([1, 1, 1, 7]);
    lines = 10;
    const b = await h.collect(2);
    expect([snapshots, get(b, 'a.count'), get(b, 'a.lines')]).toEqual([2, 2, 3]);
    await h.close();
  });

  it('works on an injected MeterProvider with its reader, without globals', async () => {
    const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
    const { DeltaReader } = await import('./delta-reader.js');
    const reader = new DeltaReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const h = new SelfHealth({ meterProvider, reader });
    h.meter.createCounter('collector.source.errors').add(1, { source: 'docker', code: 'ET_ERR_DOCKER_TIMEOUT' });
    expect(get(await h.collect(1), 'source.errors.ET_ERR_DOCKER_TIMEOUT.docker')).toBe(1);
    await h.close();
    await meterProvider.shutdown();
  });
});
