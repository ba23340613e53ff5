/**
 * Applications' series and span summaries (issue 19) from batch to API: stored with their
 * attributes, kept apart from each other and from container series (raw and hourly rollup), and
 * span summaries merged over windows with quantiles from their bins.
 */
import {
  DDSketch,
  SpanKind,
  SpanStatus,
  type Batch,
  type MetricSummary,
  type SpanSummary,
} from '@edge-telemetry/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBatch } from '../../../../test/support/batches.js';
import { ADMIN_TOKEN, startRig, type Rig } from '../../../../test/support/api-rig.js';
import type { Ingester } from '../ingester.js';
import { createWriter } from '../writer/writer.js';
import { resolveConfig } from '../config/load.js';
import type { Logger } from '../logger.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const NODE = 'gw-apps-1';
const HOUR = 3_600_000;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;

function sketchOf(values: number[]) {
  const s = new DDSketch();
  for (const v of values) s.add(v);
  return s.toData();
}

function appSeries(start: number, route: string, values: number[]): MetricSummary {
  return {
    container: 'shop',
    metric: 'http.server.request.duration',
    start,
    end: start + 60_000,
    count: values.length,
    sum: values.reduce((a, b) => a + b, 0),
    min: Math.min(...values),
    max: Math.max(...values),
    last: values.at(-1) as number,
    gaps: 0,
    resets: 0,
    sketch: sketchOf(values),
    // Key order as a node might send it: the ingester stores the attributes sorted.
    attrs: { 'service.name': 'checkout', 'http.route': route },
  };
}

function spans(start: number, durations: number[], status: 0 | 2): SpanSummary {
  return {
    container: 'shop',
    service: 'checkout',
    operation: 'GET /cart',
    kind: SpanKind.server,
    status,
    start,
    end: start + 60_000,
    count: durations.length,
    sum: durations.reduce((a, b) => a + b, 0),
    min: Math.min(...durations),
    max: Math.max(...durations),
    sketch: sketchOf(durations),
    errors: status === SpanStatus.error ? ['TimeoutError'] : [],
    traceIds: [start.toString(16).padStart(32, '0')],
  };
}

describe("applications' series and span summaries through the API", () => {
  let rig: Rig;
  let ingester: Ingester;
  const get = async (url: string) => {
    const res = await ingester.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    rig = await startRig('et-app-series-');
    ingester = await rig.ingester();
    const writer = createWriter({
      client: rig.client,
      options: resolveConfig({ writer: { flushIntervalMs: 10 } }, {}).writer,
      logger: quiet,
    });
    const batches: Batch[] = [0, 1].map((k) => {
      const start = T0 + k * 60_000;
      const b = sampleBatch({ node: NODE, seq: k + 1, now: start + 60_000 });
      return {
        ...b,
        metrics: [...b.metrics, appSeries(start, '/cart', [10, 20, 30]), appSeries(start, '/pay', [100 + k, 200])],
        spans: [spans(start, [5, 10, 15, 20 + k], SpanStatus.unset), spans(start, [3000], SpanStatus.error)],
      };
    });
    for (const b of batches) await writer.submit(b, { receivedAt: Date.now(), wireBytes: 100, ingesterId: 't' });
    await writer.close();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('keeps series of different attributes apart, with their attributes, raw and from the hourly rollup', async () => {
    for (const step of [60, 3600]) {
      const r = await get(
        `/api/v1/nodes/${NODE}/metrics?from=${T0 - HOUR}&to=${T0 + HOUR}&step=${step}&metric=http.server.request.duration`,
      );
      expect(r.series.map((s: { attrs: unknown }) => s.attrs)).toEqual([
        { 'http.route': '/cart', 'service.name': 'checkout' },
        { 'http.route': '/pay', 'service.name': 'checkout' },
      ]);
      const pay = r.series[1].points;
      const total = pay.reduce((a: number, p: { count: number }) => a + p.count, 0);
      expect(total).toBe(4);
      expect(Math.max(...pay.map((p: { max: number }) => p.max))).toBe(200);
    }
    const containers = await get(`/api/v1/nodes/${NODE}/metrics?from=${T0}&to=${T0 + HOUR}&metric=cpu.usage_pct`);
    expect(containers.series.length).toBeGreaterThan(0);
    for (const s of containers.series) expect(s.attrs).toEqual({});
    const byService = await get(`/api/v1/nodes/${NODE}/metrics?from=${T0}&to=${T0 + HOUR}&service=checkout`);
    expect(byService.series).toHaveLength(2);
  });

  it('returns span summaries per operation and status, merged over the range', async () => {
    const r = await get(`/api/v1/nodes/${NODE}/spans?from=${T0}&to=${T0 + HOUR}&step=60&service=checkout`);
    expect(r.spans).toHaveLength(2);
    const [ok, err] = r.spans;
    expect(ok).toMatchObject({
      container: 'shop',
      service: 'checkout',
      operation: 'GET /cart',
      kind: 'Server',
      status: 'Unset',
      count: 8,
      errors: 0,
      errorNames: [],
    });
    expect(ok.points).toHaveLength(2);
    expect(ok.points[0]).toMatchObject({ count: 4, rate: 4 / 60, sum: 50, min: 5, max: 20, avg: 12.5 });
    // p50 of 5, 10, 15, 20, 5, 10, 15, 21 (rank floor(0.5 * 7) = 3 of the sorted values: 10) within 1%.
    expect(Math.abs(ok.p50 - 10) / 10).toBeLessThan(0.01);
    expect(ok.traceIds.sort()).toEqual([T0, T0 + 60_000].map((t) => t.toString(16).padStart(32, '0')));
    expect(err).toMatchObject({ status: 'Error', count: 2, errors: 2, errorNames: ['TimeoutError'] });
  });
});
