import { describe, expect, it } from 'vitest';
import { captureIo } from '../../../../test/support/io.js';
import {
  describeChange,
  formatStatusTable,
  optionsFromSets,
  parseDebugArgs,
  runDebug,
  type RolloutRow,
} from './fleet-config.js';

const rollout = (over: Partial<RolloutRow>): RolloutRow => ({
  id: '0123456789abcdef',
  scope: 'fleet',
  target: '',
  rev: 30,
  prevRev: 10,
  state: 'running',
  reason: '',
  stage: 0,
  stages: [1, 2, 3],
  nodes: 3,
  judged: 3,
  admitted: 1,
  holdMs: 500,
  startedBy: 'admin',
  startedAt: '2026-12-06T00:00:00.000Z',
  ...over,
});
const change = (r: RolloutRow, superseded?: Array<{ id: string; rev: number }>) =>
  describeChange({
    layer: { scope: 'fleet', target: '', rev: 30 },
    diff: [{ path: 'logs.defaults.filter.minLevel', to: 'debug' }],
    sent: 1,
    rollout: r,
    ...(superseded ? { superseded } : {}),
  });

describe('config set output', () => {
  it('counts the waves of online nodes, and says the offline ones get it as they return', () => {
    // --waves 2 over 3 online nodes and one offline (the tester's case: it printed "then 3 wave(s)").
    expect(change(rollout({ stages: [1, 2, 3, 4], nodes: 4, judged: 3 }))).toBe(
      'fleet at revision 30, sent to 1 node(s)\n' +
        '  logs.defaults.filter.minLevel: (unset) -> "debug"\n' +
        '  rollout 0123456789abcdef: 1 canary node(s) of 3 online, then 2 wave(s), each stage held 500 ms, then the 1 node(s) offline at the start as they return\n' +
        '  a failed stage reverts it to revision 10, the last version rolled out to every node\n',
    );
    expect(change(rollout({}))).toMatch(/1 canary node\(s\) of 3 online, then 2 wave\(s\), each stage held 500 ms\n/);
    expect(change(rollout({ stages: [2], nodes: 2, judged: 0, prevRev: 0 }))).toMatch(
      /: all 2 node\(s\) offline at the start: each gets it as it returns\n {2}a failed stage reverts it to no layer,/,
    );
  });
  it('names the superseded changes a revert would drop', () => {
    expect(change(rollout({}), [{ id: 'fedcba9876543210', rev: 20 }])).toMatch(
      /reverts it to revision 10, the last version rolled out to every node; superseded and dropped with it: revision 20 \(rollout fedcba9876543210\)\n$/,
    );
  });
});

describe('debug arguments', () => {
  it('says whether --for is missing or not a duration', () => {
    expect(() => parseDebugArgs(['gw-1'], {})).toThrow(/^--for is required, like 15m or 90s$/);
    expect(() => parseDebugArgs(['gw-1', '--for', 'forever'], {})).toThrow(
      /^--for forever: not a duration; give one like 15m or 90s$/,
    );
    expect(parseDebugArgs(['gw-1', '--for', '15m'], {}).body).toEqual({ forMs: 900_000 });
  });

  it("prints debug's own usage after a usage error, not every config command's", async () => {
    const c = captureIo();
    expect(await runDebug(['vm'], c.io)).toBe(2);
    expect(c.err()).toMatch(/^--for is required.*\nusage: edge-telemetry debug <node> --for 15m/);
    expect(c.err()).not.toMatch(/config set/);
  });
});

describe('--set', () => {
  it('sets each path over the options in force and leaves them unchanged', () => {
    const base = { logs: { defaults: { filter: { minLevel: 'warn' } } }, scrapeIntervalMs: 5000 };
    expect(optionsFromSets(['logs.defaults.filter.exclude=["^GET /healthz"]', 'scrapeIntervalMs=1000'], base)).toEqual({
      logs: { defaults: { filter: { minLevel: 'warn', exclude: ['^GET /healthz'] } } },
      scrapeIntervalMs: 1000,
    });
    expect(base).toEqual({ logs: { defaults: { filter: { minLevel: 'warn' } } }, scrapeIntervalMs: 5000 });
  });
});

describe('config status table', () => {
  it('says which applied options wait for the node to restart', () => {
    const row = (node: string, config: Record<string, unknown>) => ({
      node,
      online: true,
      agentVersion: '0.1.0',
      desiredRev: 7,
      inSync: true,
      config: { state: 'applied', rev: 7, appliedRev: 7, effectiveHash: 'a'.repeat(64), ...config },
    });
    const out = formatStatusTable([
      row('gw-1', { restartNeeded: ['downsample.sealJitterMs', 'uplink.budget.dailyBytes'] }),
      row('gw-2', {}),
    ]);
    expect(out).toMatch(
      /^gw-1 +yes +0\.1\.0 +applied +7 +7 +yes +a{12} +- +applied; takes effect at its next start: downsample\.sealJitterMs, uplink\.budget\.dailyBytes$/m,
    );
    expect(out).toMatch(/^gw-2 +yes +0\.1\.0 +applied +7 +7 +yes +a{12} +-$/m);
  });

  it("shows a node's control characters as escapes: a node account cannot write to the admin's terminal", () => {
    const esc = '\u001b';
    const out = formatStatusTable([
      {
        node: 'gw-evil',
        online: true,
        agentVersion: `0.1.0${esc}[8m`,
        desiredRev: 1,
        inSync: false,
        config: {
          state: 'failed',
          rev: 1,
          appliedRev: 0,
          effectiveHash: '',
          reason: `${esc}]52;c;ZWNobyBoaQ==\u0007${esc}[2Jall in sync\nsecond line`,
        },
      },
    ]);
    const controls = [...out].filter(
      (c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f)),
    );
    expect(controls).toEqual([]);
    expect(out.trimEnd().split('\n')).toHaveLength(2);
    expect(out).toContain('\\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2Jall in sync\\x0asecond line');
    expect(out).toContain('0.1.0\\x1b[8m');
  });
});
