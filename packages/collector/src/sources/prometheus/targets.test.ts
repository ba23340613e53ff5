import { describe, expect, it } from 'vitest';
import { resolvePrometheusSourceOptions } from './options.js';
import { discoverTargets } from './targets.js';

describe('discoverTargets', () => {
  it("refuses a second target whose series would be the first one's (same container, job and instance)", () => {
    const o = resolvePrometheusSourceOptions({
      static: [
        { url: 'http://127.0.0.1:9100/metrics' },
        { url: 'http://127.0.0.1:9100/metrics' }, // the same target twice: one
        { url: 'http://127.0.0.1:9100/probe' }, // same host and job, another path
        { url: 'http://127.0.0.1:9100/probe', job: 'probe' },
        { url: 'http://127.0.0.1:9100/metrics', container: 'app' },
      ],
    });
    const d = discoverTargets(o, 1000, []);
    expect(d.targets.map((t) => [t.container, t.job, t.url.pathname])).toEqual([
      ['', 'static', '/metrics'],
      ['', 'probe', '/probe'],
      ['app', 'static', '/metrics'],
    ]);
    expect(d.invalid).toEqual([
      'target http://127.0.0.1:9100/probe: same container, job and instance as http://127.0.0.1:9100/metrics; give it a job of its own',
    ]);
  });
});
