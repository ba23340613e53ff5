import { describe, expect, it } from 'vitest';
import { DropCounter } from '../../batch/drops.js';
import { mapLogs, type LogsRequest } from './map-logs.js';
import { resolveOtlpReceiverOptions } from './options.js';

const options = resolveOtlpReceiverOptions({ maxLogRecordBytes: 4096 });
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
const map = (req: LogsRequest) => {
  const report = new DropCounter();
  const { lines } = mapLogs(req, { options, deps, report, now: 1_000 });
  return { lines, drops: report.take().map((d) => `${d.stage}/${d.reason}:${d.count}`) };
};

describe('mapLogs', () => {
  it('keeps a record within maxLogRecordBytes whole', () => {
    const { lines, drops } = map(record('disk full on /data', { 'http.route': '/x' }));
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ msg: 'disk full on /data', level: 'error', 'http.route': '/x' });
    expect(drops).toEqual([]);
  });

  it('cuts a body over maxLogRecordBytes to it, and counts it', () => {
    const { lines, drops } = map(record('x'.repeat(15 * 1024 * 1024)));
    const msg = (JSON.parse(lines[0]!.line) as { msg: string }).msg;
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(4096);
    expect(msg.startsWith('xxxx')).toBe(true);
    expect(drops).toEqual(['otlp.logs/body_cut:1']);
  });

  it('leaves out the attributes of a record still over twice the bound, and counts it', () => {
    const attrs = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
    const { lines, drops } = map(record('served', attrs));
    expect(lines[0]!.line.length).toBeLessThanOrEqual(2 * 4096);
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ msg: 'served', level: 'error' });
    expect(drops).toEqual(['otlp.logs/attributes_left_out:1']);
  });
});
