/**
 * The center (protocol's remoteOptionsProblems, used by the ingester before it stores a document)
 * and the node (applyRemoteOptions) judge a document by the same schema: whatever the center
 * refuses, the node would refuse too, and the node refuses nothing the center lets through except
 * what depends on its own file (checks across options, here the window against its scrape interval).
 */
import { describe, expect, it } from 'vitest';
import { remoteOptionsProblems, resolveConfig } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '../config/options.js';
import { applyRemoteOptions } from './remote-config.js';

const local = resolveConfig(collectorConfigSpec, {
  file: {
    node: 'gw-1',
    scrapeIntervalMs: 500,
    downsample: { windowMs: 1000 },
    uplink: { mqtt: { url: 'mqtt://x:1' } },
  },
  env: {},
});
const node = (options: Record<string, unknown>) => applyRemoteOptions(local, options, local);

const REFUSED_BY_BOTH: Array<[Record<string, unknown>, RegExp]> = [
  [
    { logs: { defaults: { filter: { minLevel: 'loud' } } } },
    /^logs\.defaults\.filter\.minLevel: must be one of trace, debug, info, warn, error, fatal, got "loud"/,
  ],
  [{ logs: { defaultz: {} } }, /^logs\.defaultz: unknown option/],
  [{ uplink: { mqtt: { url: 'mqtt://elsewhere:1883' } } }, /^uplink\.mqtt\.url: set only in the node's local/],
  [{ remoteConfig: { revertAfterMs: 0 } }, /^remoteConfig\.revertAfterMs: set only in the node's local/],
  [{ node: 'gw-2' }, /^node: set only/],
  [{ uplink: { budget: { dailyBytes: -1 } } }, /^uplink\.budget\.dailyBytes: Expected integer to be greater/],
  [{ scrapeIntervalMs: '10s' }, /^scrapeIntervalMs: Expected integer/],
  [{ logs: 5 }, /^logs: /],
  [
    { logs: { containers: [{ name: 'api*', settings: { filter: { exclude: 'x' } } }] } },
    /^logs\.containers\.0\.settings\.filter\.exclude: Expected array/,
  ],
];

describe('remote options: center and node agree', () => {
  it.each(REFUSED_BY_BOTH)('%j is refused at both ends, naming the option', (options, named) => {
    const center = remoteOptionsProblems(options);
    expect(center.length).toBeGreaterThan(0);
    expect(center[0]).toMatch(named);
    // The center's message says what to do with the document.
    expect(center[0]).toMatch(/; fix: (set options\.|remove it)/);
    const r = node(options);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(named);
  });

  it('a filter or redaction pattern that does not compile is refused by the node and by the center, naming it (the previous configuration stays)', () => {
    // Before, it was taken and compiled at each container's first line: that container's logs stopped, silently.
    const filter = { logs: { containers: [{ name: 'api*', settings: { filter: { exclude: ['ok', '(unclosed'] } } }] } };
    const r = node(filter);
    expect(r.ok ? '' : r.reason).toMatch(
      /^logs\.containers\[0\]\.settings\.filter\.exclude\[1\] \("\(unclosed"\): Invalid regular expression: \/\(unclosed\/: Unterminated group$/,
    );
    const redact = { logs: { redact: { patterns: [{ kind: 'x', pattern: '[a-', flags: '' }] } } };
    expect(node(redact)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^logs\.redact\.patterns\[0\]\.pattern \("\[a-"\)/),
    });
    // The center stored such a document before and sent it to every node, each of which refused it.
    expect(remoteOptionsProblems(filter)).toEqual([
      'logs.containers[0].settings.filter.exclude[1] ("(unclosed"): Invalid regular expression: /(unclosed/: Unterminated group; fix: correct or remove the pattern',
    ]);
    expect(remoteOptionsProblems(redact)).toEqual([
      expect.stringMatching(/^logs\.redact\.patterns\[0\]\.pattern \("\[a-"\)/),
    ]);
  });

  it('a valid change passes both; one that only the node can judge passes the center and is refused by the node', () => {
    const good = {
      logs: { defaults: { filter: { minLevel: 'warn', exclude: ['^GET /healthz'] } } },
      scrapeIntervalMs: 250,
    };
    expect(remoteOptionsProblems(good)).toEqual([]);
    expect(node(good)).toMatchObject({ ok: true, restartNeeded: ['scrapeIntervalMs'] });
    // 1250 ms is a valid window, but not a multiple of this node's 500 ms scrape interval.
    const nodeOnly = { downsample: { windowMs: 1250 } };
    expect(remoteOptionsProblems(nodeOnly)).toEqual([]);
    expect(node(nodeOnly)).toEqual({
      ok: false,
      reason: 'downsample.windowMs (1250) must be a multiple of scrapeIntervalMs (500)',
    });
  });
});
