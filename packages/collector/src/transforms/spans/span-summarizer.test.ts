import { DDSketch, SpanKind, SpanStatus, validateSpanSummary, type DropCount } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import { ddSketchOps } from '../downsample/ddsketch-ops.js';
import { SpanSummarizer, type SpanRecord } from './span-summarizer.js';

const span = (o: Partial<SpanRecord>): SpanRecord => ({
  container: 'api',
  service: 'checkout',
  operation: 'GET /cart',
  kind: SpanKind.server,
  status: SpanStatus.unset,
  durationMs: 1,
  traceId: '0'.repeat(31) + '1',
  error: '',
  ...o,
});

describe('span summaries', () => {
  it('one row per service, operation, kind and status: counts, durations, error names, slowest trace ids', () => {
    const drops: DropCount[] = [];
    const s = new SpanSummarizer(
      { exemplars: 2, errorNames: 2 },
      { sketches: ddSketchOps, report: { drop: (d) => drops.push({ ...d, count: 1 }) }, significantDigits: 0 },
    );
    const hex = (i: number) => i.toString(16).padStart(32, '0');
    for (let i = 1; i <= 100; i++) s.add(span({ durationMs: i, traceId: hex(i) }));
    for (const [i, error] of [
      [101, 'TimeoutError'],
      [102, 'TimeoutError'],
      [103, ''],
      [104, 'ECONNRESET'],
    ] as const)
      s.add(span({ status: SpanStatus.error, durationMs: 5, traceId: hex(i), error }));
    s.add(span({ kind: SpanKind.client, durationMs: 2 }));
    s.add(span({ durationMs: Number.NaN }));
    const rows = s.flush(0, 60_000);
    expect(rows).toHaveLength(3);
    const ok = rows.find((r) => r.status === SpanStatus.unset && r.kind === SpanKind.server);
    expect(ok).toMatchObject({ count: 100, sum: 5050, min: 1, max: 100, traceIds: [hex(100), hex(99)], errors: [] });
    expect(DDSketch.fromData(ok!.sketch!).quantile(0.99)).toBeCloseTo(99, -0.3);
    const err = rows.find((r) => r.status === SpanStatus.error);
    // The span without an exception or message is named by its operation; the list stops at errorNames.
    expect(err).toMatchObject({ count: 4, errors: ['TimeoutError', 'GET /cart'] });
    expect(drops).toEqual([{ stage: 'spans.summary', reason: 'bad_duration', container: 'api', count: 1 }]);
    expect(s.flush(60_000, 120_000)).toEqual([]);
  });

  it('rows beyond the cap are dropped and counted', () => {
    const drops: DropCount[] = [];
    const s = new SpanSummarizer(
      { maxRows: 3 },
      { sketches: ddSketchOps, report: { drop: (d) => drops.push({ ...d, count: 1 }) }, significantDigits: 4 },
    );
    for (let i = 0; i < 10; i++) s.add(span({ operation: `op-${i}`, durationMs: 1.23456 }));
    const rows = s.flush(0, 1);
    expect(rows.map((r) => r.sum)).toEqual([1.235, 1.235, 1.235]);
    expect(drops).toHaveLength(7);
    expect(drops[0]).toMatchObject({ stage: 'spans.cardinality', reason: 'row_cap' });
  });

  it('keeps a row the protocol can carry: long texts cut, trace ids that are not 32 hex digits left out, each counted', () => {
    const drops: DropCount[] = [];
    const s = new SpanSummarizer(
      {},
      { sketches: ddSketchOps, report: { drop: (d) => drops.push({ ...d, count: 1 }) }, significantDigits: 0 },
    );
    const long = 'x'.repeat(70_000);
    s.add(span({ operation: long, status: SpanStatus.error, error: long, traceId: '' }));
    s.add(span({ operation: long, status: SpanStatus.error, error: long, traceId: 'not-hex' }));
    const rows = s.flush(0, 60_000);
    expect(rows).toHaveLength(1);
    const check = validateSpanSummary(rows[0]);
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    expect(rows[0]).toMatchObject({ count: 2, traceIds: [] });
    expect(rows[0]!.operation.startsWith('xxx')).toBe(true);
    expect(drops.map((d) => `${d.stage}/${d.reason}`).sort()).toEqual([
      'spans.summary/bad_trace_id',
      'spans.summary/bad_trace_id',
      'spans.text/cut',
      'spans.text/cut',
    ]);
  });
});
