import { LogLevel, type LogTemplate } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import { DropCounter } from './drops.js';
import { carriableTimes } from './fit-times.js';

const START = Date.UTC(2026, 11, 8, 4, 0);
const YEAR_9999 = Date.UTC(9999, 11, 31, 23, 59, 59);
const GO_ZERO = Date.UTC(1, 0, 1);

const template = (firstSeen: number, lastSeen: number): LogTemplate => ({
  container: 'web',
  id: 't1',
  template: 'GET <*>',
  level: LogLevel.warn,
  count: 2,
  firstSeen,
  lastSeen,
  samples: [{ ts: firstSeen, params: ['/a'] }],
});

describe('carriableTimes', () => {
  it('keeps a template row ending no earlier than it began when only one of its times moves', () => {
    for (const [first, last, wantFirst, wantLast] of [
      [START + 10_000, YEAR_9999, START + 10_000, START + 10_000], // a line at start + 10 s, then one stamped 9999
      [GO_ZERO, START + 10_000, START, START + 10_000],
      [GO_ZERO, YEAR_9999, START, START],
    ] as const) {
      const drops = new DropCounter();
      const [t] = carriableTimes([], [template(first, last)], START, drops).templates;
      expect([t?.firstSeen, t?.lastSeen]).toEqual([wantFirst, wantLast]);
      expect(drops.take()).toEqual([{ stage: 'logs.time', reason: 'not_representable', container: 'web', count: 1 }]);
    }
  });

  it('returns the arrays themselves when every time fits', () => {
    const templates = [template(START, START + 5_000)];
    const drops = new DropCounter();
    expect(carriableTimes([], templates, START, drops).templates).toBe(templates);
    expect(drops.take()).toEqual([]);
  });
});
