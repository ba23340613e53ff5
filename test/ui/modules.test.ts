/** The pages' pure modules (formatting, sorting, chart geometry, stream decoding) in Node, without a browser. */
import { describe, expect, it } from 'vitest';
import { authHeaders, describeError, ApiError } from '../../packages/ingester/ui-assets/js/api.js';
import { chartModel, niceTicks, niceTimeTicks } from '../../packages/ingester/ui-assets/js/chart.js';
import { formatAgo, formatBytes, formatRatio, stepFor } from '../../packages/ingester/ui-assets/js/format.js';
import { createLineDecoder, dropLines, pullProgress } from '../../packages/ingester/ui-assets/js/lines.js';
import { filterRows, nextSort, sortRows } from '../../packages/ingester/ui-assets/js/table.js';
import { chartsByMetric, unitOf } from '../../packages/ingester/ui-assets/js/node.js';
import { EndedShort, isTransient, pullRequest, retrying } from '../../packages/ingester/ui-assets/js/pull.js';
import { nodeColumns, visibleNodes } from '../../packages/ingester/ui-assets/js/fleet.js';
import { layerName, layerPath, optionValue, stageText } from '../../packages/ingester/ui-assets/js/config.js';

describe('ui modules', () => {
  it('formats bytes, ratios, ages and steps', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatRatio(40_960, 2048)).toBe('20.0x');
    expect(formatRatio(100, 0)).toBe('–');
    expect(formatAgo(null, 0)).toBe('never');
    expect(formatAgo(new Date(1_000_000).toISOString(), 1_000_000 + 125_000)).toBe('2 min ago');
    expect(stepFor(3_600_000, 120)).toBe(60);
    expect(stepFor(7 * 86_400_000, 120)).toBe(5040);
  });

  it('sends the bearer token only when one is set, and explains 401', () => {
    expect(authHeaders('', { a: '1' })).toEqual({ a: '1' });
    expect(authHeaders('t0k', {})).toEqual({ authorization: 'Bearer t0k' });
    expect(describeError(new ApiError(401, 'ET_ERR_UNAUTHORIZED', 'x'))).toMatch(/needs a token/);
    expect(describeError(new ApiError(400, 'ET_ERR_BAD_REQUEST', 'bad step'))).toBe('ET_ERR_BAD_REQUEST: bad step');
    // The API's own messages start with their code: said once.
    expect(describeError(new ApiError(400, 'ET_ERR_BAD_REQUEST', 'ET_ERR_BAD_REQUEST: bad step'))).toBe(
      'ET_ERR_BAD_REQUEST: bad step',
    );
    // A role too low gets the hint; a 403 with its own reason says it.
    expect(describeError(new ApiError(403, 'ET_ERR_FORBIDDEN', 'needs admin'))).toBe(
      'This token is not allowed to do that.',
    );
    expect(describeError(new ApiError(403, 'ET_ERR_PULL_NOT_REQUESTER', 'ET_ERR_PULL_NOT_REQUESTER: not yours'))).toBe(
      'ET_ERR_PULL_NOT_REQUESTER: not yours',
    );
  });

  it('sorts numbers numerically and names naturally, flips on a second press, filters by every word', () => {
    const rows = [
      { n: 'gw-10', v: 5 },
      { n: 'gw-9', v: 40 },
      { n: 'gw-100', v: 7 },
    ];
    const byName = { key: 'n', label: 'n', value: (r: { n: string }) => r.n };
    const byV = { key: 'v', label: 'v', value: (r: { v: number }) => r.v };
    expect(sortRows(rows, byName, 'ascending').map((r) => r.n)).toEqual(['gw-9', 'gw-10', 'gw-100']);
    expect(sortRows(rows, byV, 'descending').map((r) => r.v)).toEqual([40, 7, 5]);
    expect(nextSort({ sortKey: 'v', dir: 'ascending' }, 'v')).toEqual({ sortKey: 'v', dir: 'descending' });
    expect(nextSort({ sortKey: 'v', dir: 'descending' }, 'n')).toEqual({ sortKey: 'n', dir: 'ascending' });
    expect(filterRows(rows, [byName, byV], 'GW 40').map((r) => r.n)).toEqual(['gw-9']);
    expect(filterRows(rows, [byName], '  ')).toHaveLength(3);
  });

  it('filters fleet rows by state before the text filter', () => {
    const rows = [
      { node: 'a', online: true, lastSeen: null, containers: ['web'], uplinkBytes: 1 },
      { node: 'b', online: false, lastSeen: null, containers: ['web'], uplinkBytes: 2 },
    ];
    const cols = [
      {
        key: 'node',
        label: 'Node',
        value: (r: { node: string; containers: string[] }) => `${r.node} ${r.containers.join(' ')}`,
      },
    ];
    expect(visibleNodes(rows, 'web', 'offline', cols).map((r) => r.node)).toEqual(['b']);
    expect(visibleNodes(rows, '', '', cols)).toHaveLength(2);
  });

  it('sorts the fleet by per-node raw bytes, saving and drops when the nodes endpoint carries them, and puts nodes without them last', () => {
    const cols = nodeColumns({} as Document, 0);
    const col = (key: string) => cols.find((c) => c.key === key)!;
    const rows = [
      { node: 'a', online: true, lastSeen: null, containers: [], uplinkBytes: 100, rawBytes: 4000, drops: 3 },
      { node: 'b', online: true, lastSeen: null, containers: [], uplinkBytes: 100 },
      { node: 'c', online: true, lastSeen: null, containers: [], uplinkBytes: 200, rawBytes: 2000, drops: 9 },
    ];
    expect(sortRows(rows, col('raw'), 'descending').map((r) => r.node)).toEqual(['a', 'c', 'b']);
    expect(sortRows(rows, col('ratio'), 'descending').map((r) => r.node)).toEqual(['a', 'c', 'b']);
    expect(sortRows(rows, col('drops'), 'descending').map((r) => r.node)).toEqual(['c', 'a', 'b']);
  });

  it('lays out chart paths inside the plot box and breaks lines at gaps', () => {
    const box = { width: 100, height: 60, pad: { l: 10, r: 10, t: 5, b: 5 } };
    const m = chartModel(
      [
        {
          label: 'a',
          points: [
            { t: 0, v: 0 },
            { t: 50, v: 10 },
            { t: 60, v: null },
            { t: 100, v: 5 },
          ],
        },
      ],
      0,
      100,
      box,
    );
    expect(m.paths[0]!.d).toBe('M10.0,55.0L50.0,5.0M90.0,30.0');
    expect(m.lo).toBe(0);
    expect(m.hi).toBe(10);
    const empty = chartModel([], 0, 100, box);
    expect(empty.paths).toEqual([]);
    expect(niceTicks(0, 43, 4)).toEqual([0, 20, 40]);
    expect(niceTimeTicks(0, 3_600_000, 4)).toEqual([0, 900_000, 1_800_000, 2_700_000, 3_600_000]);
  });

  it('groups series into one chart per metric with the chosen statistic, and knows units', () => {
    const groups = chartsByMetric(
      [
        { container: 'b', metric: 'mem.usage_bytes', points: [{ t: '1970-01-01T00:01:00.000Z', avg: 5, max: 9 }] },
        { container: 'a', metric: 'cpu.usage_pct', points: [{ t: '1970-01-01T00:01:00.000Z', avg: 1, max: null }] },
      ],
      'max',
    );
    expect(groups.map(([m]) => m)).toEqual(['cpu.usage_pct', 'mem.usage_bytes']);
    expect(groups[0]![1]).toEqual([{ label: 'a', points: [{ t: 60_000, v: null }] }]);
    expect(groups[1]![1][0]!.points[0]!.v).toBe(9);
    expect(
      chartsByMetric(
        [{ container: '', metric: 'm', attrs: { z: '1', 'service.name': 'svc', a: '2' }, points: [] }],
        'avg',
      )[0]![1][0]!.label,
    ).toBe('svc · z=1 · a=2');
    expect([unitOf('cpu.usage_pct'), unitOf('net.rx_bytes_per_s'), unitOf('mem.usage_bytes'), unitOf('x')]).toEqual([
      '%',
      'B/s',
      'bytes',
      '',
    ]);
  });

  it('decodes streamed lines across chunk boundaries', () => {
    const d = createLineDecoder();
    expect(d.push('2026-11-28T06:00:00.000Z\tweb\tstdout\tINFO\tfirst\nsec')).toEqual([
      '2026-11-28T06:00:00.000Z\tweb\tstdout\tINFO\tfirst',
    ]);
    expect(d.push('ond\n')).toEqual(['second']);
    expect(d.push('tail')).toEqual([]);
    expect(d.end()).toEqual(['tail']);
    expect(d.end()).toEqual([]);
  });

  it('drops the first lines of a block of text (the on-screen ring of the log-pull page)', () => {
    expect(dropLines('a\nb\nc\n', 0)).toBe('a\nb\nc\n');
    expect(dropLines('a\nb\nc\n', 2)).toBe('c\n');
    expect(dropLines('a\nb\nc\n', 3)).toBe('');
    expect(dropLines('a\nb\nc\n', 9)).toBe('');
  });

  it('reads pull progress from the status body and builds the request from the form', () => {
    expect(pullProgress({ state: 'queued', linesReceived: 0, bytesReceived: 0 })).toMatchObject({
      done: false,
      fraction: undefined,
      node: '',
      requestedBy: '',
    });
    expect(pullProgress({ state: 'running', node: 'gw-1', requestedBy: 'alice (tk_1)' })).toMatchObject({
      node: 'gw-1',
      requestedBy: 'alice (tk_1)',
    });
    expect(
      pullProgress({ state: 'running', linesReceived: 100, bytesReceived: 250, bytesExpected: 1000 }),
    ).toMatchObject({ fraction: 0.25, lines: 100, done: false });
    expect(pullProgress({ state: 'done', linesReceived: 400, bytesReceived: 1000, bytesExpected: 1000 })).toMatchObject(
      { done: true, fraction: 1 },
    );
    expect(pullProgress({ state: 'expired', error: 'node did not answer' })).toMatchObject({
      done: true,
      fraction: 0,
      error: 'node did not answer',
    });
    expect(
      pullRequest({ since: '15m', until: '', container: 'web', level: '', grep: 'timeout', tail: '', maxBytes: '' }),
    ).toEqual({ since: '15m', container: 'web', grep: 'timeout' });
    expect(
      pullRequest({
        since: '1764316800000',
        until: '2026-11-28T08:00:00Z',
        container: '',
        level: 'warn',
        grep: '',
        tail: '50',
        maxBytes: '4096',
      }),
    ).toEqual({ since: 1764316800000, until: '2026-11-28T08:00:00Z', level: 'warn', tail: 50, maxBytes: 4096 });
  });

  it('names configuration layers and their API paths (labels and node ids encoded), stages and diff values', () => {
    expect(layerPath({ scope: 'fleet', target: '' })).toBe('/api/v1/config/fleet');
    expect(layerPath({ scope: 'node', target: 'gw-1' })).toBe('/api/v1/config/nodes/gw-1');
    // A label value may hold '=', '/' and markup: only the first '=' splits, and both parts are encoded.
    expect(layerPath({ scope: 'group', target: 'site=a=b/<x>' })).toBe('/api/v1/config/groups/site/a%3Db%2F%3Cx%3E');
    expect(layerName({ scope: 'group', target: 'site=berlin' })).toBe('group site=berlin');
    expect(layerName({ scope: 'fleet', target: '' })).toBe('fleet');
    expect(stageText({ stage: 0, stages: [1, 4, 7, 10] })).toBe('canaries (1 of 4)');
    expect(stageText({ stage: 2, stages: [1, 4, 7, 10] })).toBe('wave 2 of 3');
    expect(optionValue(undefined)).toBe('(unset)');
    expect(optionValue(['^GET'])).toBe('["^GET"]');
  });
});

describe('log-pull page: what it tries again', () => {
  it('tries again after a network failure or a gateway answer, not after the API refused', () => {
    expect(isTransient(new TypeError('Failed to fetch'))).toBe(true);
    expect(isTransient(new ApiError(502, 'ET_ERR_HTTP', '502 Bad Gateway'))).toBe(true);
    expect(isTransient(new ApiError(503, 'ET_ERR_HTTP', '503'))).toBe(true);
    expect(isTransient(new ApiError(401, 'ET_ERR_UNAUTHENTICATED', 'no token'))).toBe(false);
    expect(isTransient(new ApiError(404, 'ET_ERR_NOT_FOUND', 'no pull'))).toBe(false);
    expect(isTransient(new DOMException('aborted', 'AbortError'))).toBe(false);
    // A lines stream that ended cleanly short of the pull's lines is opened again, as a cut one is.
    expect(isTransient(new EndedShort('ended at line 10 of 12'))).toBe(true);
  });

  /**
   * `retrying` with a sleep that only records its waits. Each attempt brings the lines of its entry
   * in `fails` (the progress) and throws its error; once they are used up an attempt returns 'done'.
   */
  const run = (fails: Array<[lines: number, err: () => unknown]>, signal = new AbortController().signal) => {
    let at = 0;
    const waits: number[] = [];
    const retries: unknown[] = [];
    const result = retrying(
      async () => {
        const fail = fails.shift();
        if (fail === undefined) return 'done';
        at += fail[0];
        throw fail[1]();
      },
      {
        signal,
        progress: () => at,
        onRetry: (err) => retries.push(err),
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );
    return { result, waits, retries };
  };
  const cut = () => new TypeError('network error');

  it('waits longer after each failure, and from the shortest again after one that made progress', async () => {
    const r = run([
      [0, cut],
      [0, cut],
      [0, cut],
      [0, cut],
      [0, cut],
      [0, cut],
    ]);
    await expect(r.result).resolves.toBe('done');
    expect(r.waits).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    // A pull cut four times, each attempt having brought lines: the shortest wait each time.
    const q = run([
      [10, cut],
      [10, cut],
      [10, cut],
      [10, cut],
    ]);
    await expect(q.result).resolves.toBe('done');
    expect(q.waits).toEqual([500, 500, 500, 500]);
    // Progress, then none: the wait grows again from the shortest.
    const g = run([
      [0, cut],
      [0, cut],
      [5, cut],
      [0, cut],
    ]);
    await expect(g.result).resolves.toBe('done');
    expect(g.waits).toEqual([500, 1000, 500, 1000]);
  });

  it('opens a stream that ended short again while it brings lines, and stops at one that brought none', async () => {
    const short = () => new EndedShort('short');
    const r = run([
      [5, short],
      [5, short],
      [0, short],
      [0, () => new Error('not reached')],
    ]);
    await expect(r.result).resolves.toBeUndefined();
    expect(r.retries).toHaveLength(2);
    expect(r.waits).toEqual([500, 500]);
  });

  it('stops at a failure that is not transient, and at once when aborted', async () => {
    const refused = new ApiError(404, 'ET_ERR_NOT_FOUND', 'no pull');
    const r = run([
      [0, () => new TypeError('Failed to fetch')],
      [0, () => refused],
    ]);
    await expect(r.result).rejects.toBe(refused);
    expect(r.retries).toHaveLength(1);
    const aborting = new AbortController();
    const abortedCut = new TypeError('network error');
    const a = run(
      [
        [0, () => (aborting.abort(), abortedCut)],
        [0, () => new Error('not reached')],
      ],
      aborting.signal,
    );
    await expect(a.result).rejects.toBe(abortedCut);
    expect(a.waits).toEqual([]);
  });
});
