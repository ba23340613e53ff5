import { describe, expect, it } from 'vitest';
import { sampleBatch } from '../../../../test/support/batches.js';
import { batchToRows } from './rows.js';

const meta = { receivedAt: 1, wireBytes: 1, ingesterId: 'test' };
const names = (rows: unknown[][]) => rows.map((r) => [r[2], r[3]]);

describe('container rows', () => {
  it('are the inventory when every container the batch carries data of is in it', () => {
    const b = sampleBatch({ node: 'n', seq: 1 });
    expect(names(batchToRows(b, meta).rows.containers)).toEqual(b.containers.map((c) => [c.id, c.name]));
  });

  it('name once each container of logs, templates, spans or metrics the inventory lacks, never the host or the collector', () => {
    const b = sampleBatch({ node: 'n', seq: 1 });
    const batch = {
      ...b,
      containers: [],
      metrics: [
        { ...b.metrics[0]!, container: '' },
        { ...b.metrics[0]!, container: '_collector' },
        { ...b.metrics[0]!, container: 'otel-app' },
      ],
      logs: b.logs.map((l) => ({ ...l, container: 'files' })),
      templates: b.templates.map((t) => ({ ...t, container: 'files' })),
    };
    const { rows, rowCount } = batchToRows(batch, meta);
    expect(names(rows.containers)).toEqual([
      ['', 'otel-app'],
      ['', 'files'],
      ['', b.events[0]!.container],
    ]);
    expect(rowCount).toBe(Object.values(rows).reduce((n, r) => n + r.length, 0) - rows.ledger.length);
  });
});
