import { describe, expect, it } from 'vitest';
import { DropCounter } from '../../batch/drops.js';
import { CUT_MARK } from '../../batch/fit-text.js';
import { mapLogs, type LogsRequest } from './map-logs.js';
import { resolveOtlpReceiverOptions } from './options.js';

const options = resolveOtlpReceiverOptions({ maxLogRecordBytes: 4096 });
// Caps as high as they go, so that the attributes of a record can pass its line's bound.
const roomy = resolveOtlpReceiverOptions({ maxLogRecordBytes: 4096, maxAttributes: 64, maxAttributeLength: 1000 });
const deps = { containerOf: () => undefined };
const record = (body: string, attrs: Record<string, string> = {}): LogsRequest => ({
  resourceLogs: [
    {
      scopeLogs: [
        {
          logRecords: [
            {
              severityNumber: 17,
              body: { stringValue: body },
              attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
            },
          ],
        },
      ],
    },
  ],
});
const map = (req: LogsRequest, o = options) => {
  const report = new DropCounter();
  const { lines } = mapLogs(req, { options: o, deps, report, now: 1_000 });
  return { lines, drops: report.take().map((d) => `${d.stage}/${d.reason}:${d.count}`) };
};

describe('mapLogs', () => {
  it('keeps a record within maxLogRecordBytes whole', () => {
    const { lines, drops } = map(record('disk full on /data', { 'http.route': '/x' }));
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ msg: 'disk full on /data', level: 'error', 'http.route': '/x' });
    expect(drops).toEqual([]);
  });

  it("caps a record's attributes after the keys its own fields overwrite are left out", () => {
    const o = resolveOtlpReceiverOptions({ maxLogRecordBytes: 4096, maxAttributes: 2 });
    // msg and level would be overwritten by the record's own: they took two of the cap's places, and the others were counted as too many.
    const { lines, drops } = map(record('m', { msg: 'x', level: 'y', a: '1', b: '2' }), o);
    expect(JSON.parse(lines[0]!.line)).toEqual({ msg: 'm', level: 'error', time: 1_000, a: '1', b: '2' });
    expect(drops).toEqual([]);
  });

  it('cuts a body over maxLogRecordBytes to it, and counts it', () => {
    const { lines, drops } = map(record('x'.repeat(15 * 1024 * 1024)));
    const msg = (JSON.parse(lines[0]!.line) as { msg: string }).msg;
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(4096);
    expect(msg.startsWith('xxxx')).toBe(true);
    expect(drops).toEqual(['otlp.logs/body_cut:1']);
  });

  it('counts as cut only a body it cut, not one that ends with the cut mark as sent', () => {
    const body = `an earlier hop cut this${CUT_MARK}`;
    const { lines, drops } = map(record(body));
    expect((JSON.parse(lines[0]!.line) as { msg: string }).msg).toBe(body);
    expect(drops).toEqual([]);
  });

  it('leaves out the attributes of a record still over twice the bound, and counts it', () => {
    const attrs = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
    const { lines, drops } = map(record('served', attrs), roomy);
    expect(lines[0]!.line.length).toBeLessThanOrEqual(2 * 4096);
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ msg: 'served', level: 'error' });
    expect(drops).toEqual(['otlp.logs/attributes_left_out:1']);
  });

  it("holds a record's attributes to maxAttributes (by key order) and values to maxAttributeLength, counted", () => {
    // 20 attributes, one value over 256 characters and one whose cut would split a surrogate pair.
    const attrs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]));
    attrs.k03 = 'x'.repeat(300);
    attrs.k05 = `${'y'.repeat(255)}😀`;
    const { lines, drops } = map(record('served', attrs));
    const line = JSON.parse(lines[0]!.line) as Record<string, string>;
    const kept = Object.keys(line).filter((k) => k.startsWith('k'));
    expect(kept).toEqual(Array.from({ length: 16 }, (_, i) => `k${String(i).padStart(2, '0')}`));
    expect(line.k03).toBe('x'.repeat(256));
    expect(line.k05).toBe(`${'y'.repeat(255)}\uFFFD`);
    expect(line).toMatchObject({ msg: 'served', level: 'error', k00: 'v0', k15: 'v15' });
    expect(drops.sort()).toEqual(['otlp.attributes/too_many:4', 'otlp.attributes/value_cut:2']);
  });
});
