import { describe, expect, it } from 'vitest';
import { SelfHealth } from './self-health.js';
import { selfSource } from './self-source.js';

describe('selfSource', () => {
  it('gathers the figures once per scrape, for what it sees first and for every value the collect reads', async () => {
    const health = new SelfHealth();
    let gathered = 0;
    const seen: number[] = [];
    const self = selfSource({
      health,
      figures: () => ({ n: ++gathered }),
      seen: (_now, f) => seen.push(f.n),
    });
    health.observeValues({
      snapshot: self.snapshot,
      gauges: { 'a.one': { help: 'a', read: (f) => f.n }, 'a.two': { help: 'b', read: (f) => f.n } },
      totals: { 'a.total': { help: 'c', read: (f) => f.n } },
    });
    const read = (samples: { metric: string; value: number }[]) =>
      ['a.one', 'a.two'].map((m) => samples.find((s) => s.metric === m)?.value);
    expect(read((await self.source.scrape(1)).samples)).toEqual([1, 1]);
    expect(read((await self.source.scrape(2)).samples)).toEqual([2, 2]);
    expect({ gathered, seen }).toEqual({ gathered: 2, seen: [1, 2] });
    // A collect of its own (/metrics) between scrapes gathers its own figures.
    expect(read(await health.collect(3))).toEqual([3, 3]);
    expect(gathered).toBe(3);
    await self.source.close();
  });
});
