import type { MetricSource } from '../sources/types.js';
import type { SelfHealth } from './self-health.js';

/**
 * The collector's own series as the metric source `self`, with the snapshot its figures' gauges
 * read (SelfHealth.observeValues). `figures` (what the store and the uplink say of themselves: each
 * stats() call builds its whole object) is gathered once per scrape: `seen` takes it first (the
 * data-volume state, the bytes sent, which the collect then reads), and the snapshot is the same in
 * the collect the scrape starts. A /metrics collect between scrapes gathers its own.
 */
export function selfSource<F>(o: { health: SelfHealth; figures: () => F; seen: (now: number, f: F) => void }): {
  source: MetricSource;
  snapshot: () => F;
} {
  let scraped: F | undefined;
  return {
    source: {
      name: 'self',
      scrape: async (now) => {
        scraped = o.figures();
        try {
          o.seen(now, scraped);
          return { samples: await o.health.collect(now), containers: [] };
        } finally {
          scraped = undefined;
        }
      },
      close: () => o.health.close(),
    },
    snapshot: () => scraped ?? o.figures(),
  };
}
