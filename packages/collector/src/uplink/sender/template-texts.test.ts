import type { LogTemplate } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import { TemplateTexts } from './template-texts.js';

const HOUR = 3_600_000;
const row = (id: string, template: string, lastSeen: number, container = 'api'): LogTemplate => ({
  container,
  id,
  template,
  level: 2,
  count: 1,
  firstSeen: lastSeen,
  lastSeen,
  samples: [],
});
const texts = (rows: LogTemplate[]) => rows.map((r) => r.template);

describe('TemplateTexts', () => {
  it('leaves a text out once a batch carrying it is acknowledged, and carries it again when it changes', () => {
    const book = new TemplateTexts(HOUR);
    const first = book.omitHeld([row('a', 'GET <*>', 1_000)]);
    book.carried(1, 1, first, 60_000);
    // Not acknowledged yet: still carried.
    expect(texts(book.omitHeld([row('a', 'GET <*>', 61_000)]))).toEqual(['GET <*>']);
    book.acked(1, 1);
    expect(
      texts(
        book.omitHeld([
          row('a', 'GET <*>', 121_000),
          row('a', 'GET <*> <*>', 121_000),
          row('a', 'GET <*>', 121_000, 'web'),
        ]),
      ),
    ).toEqual(['', 'GET <*> <*>', 'GET <*>']);
    const changed = book.omitHeld([row('a', 'GET <*> <*>', 181_000)]);
    book.carried(1, 2, changed, 240_000);
    book.acked(1, 2);
    expect(texts(book.omitHeld([row('a', 'GET <*> <*>', 241_000), row('a', 'GET <*>', 241_000)]))).toEqual([
      '',
      'GET <*>',
    ]);
  });

  it('relies on a text only within the lookback, and never on a batch that was not acknowledged', () => {
    const book = new TemplateTexts(HOUR);
    book.carried(1, 1, [row('a', 'x <*>', 0)], 60_000);
    book.acked(1, 1);
    expect(texts(book.omitHeld([row('a', 'x <*>', HOUR)]))).toEqual(['']);
    expect(texts(book.omitHeld([row('a', 'x <*>', HOUR + 1)]))).toEqual(['x <*>']);
    // An evicted batch is never acknowledged: its text is carried again.
    book.carried(1, 2, [row('b', 'y <*>', 2 * HOUR)], 2 * HOUR);
    expect(texts(book.omitHeld([row('b', 'y <*>', 2 * HOUR + 60_000)]))).toEqual(['y <*>']);
    // A late ack of an older carrying batch does not replace a newer text.
    book.carried(1, 3, [row('b', 'y <*> z', 2 * HOUR + 120_000)], 2 * HOUR + 120_000);
    book.acked(1, 3);
    book.acked(1, 2);
    expect(
      texts(book.omitHeld([row('b', 'y <*> z', 2 * HOUR + 180_000), row('b', 'y <*>', 2 * HOUR + 180_000)])),
    ).toEqual(['', 'y <*>']);
  });

  it('forgets what aged past the lookback, acknowledged or not', () => {
    const book = new TemplateTexts(HOUR);
    book.carried(1, 1, [row('a', 'x', 0)], 0);
    book.acked(1, 1);
    book.carried(1, 2, [row('b', 'y', 0)], 0);
    book.carried(1, 3, [], 2 * HOUR);
    // Acknowledging seq 2 now finds nothing: it was forgotten with the held text of seq 1.
    book.acked(1, 2);
    expect(texts(book.omitHeld([row('a', 'x', 2 * HOUR), row('b', 'y', HOUR)]))).toEqual(['x', 'y']);
  });
});
