/** The batches behind the golden vectors: each exercises a different part of the format. */
import { DDSketch, type Batch, type NodeHealth } from '../src/index.js';

const health: NodeHealth = { uplinkBytes: 0, rawBytes: 0, queueBatches: 0, queueBytes: 0, budgetLeftBytes: -1, degradeLevel: 0, cpuPct: 0, rssBytes: 0, agentVersion: '0.1.0' };
const T = 1_764_300_000_000;

const sketch = new DDSketch();
for (const v of [0, 40, 41.5, 42, 45, 50, 50, -1, -1.02]) sketch.add(v);

export const goldenBatches: Record<string, Batch> = {
  empty: { node: 'gw-empty', epoch: 0, seq: 0, sentAt: T, windowStart: T - 60_000, windowEnd: T, containers: [], metrics: [], logs: [], templates: [], events: [], drops: [], health },

  full: {
    node: 'gw-full.site-1',
    epoch: 1_764_200_000,
    seq: 42,
    sentAt: T + 150,
    windowStart: T - 60_000,
    windowEnd: T,
    containers: [
      { id: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', name: 'api', image: 'nginx:1.27', state: 'running', labels: { 'com.docker.compose.service': 'api', tier: 'front' } },
      { id: 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', name: 'db', image: 'postgres:16', state: 'exited', labels: {} },
    ],
    metrics: [
      { container: 'api', metric: 'cpu.usage_pct', start: T - 60_000, end: T, count: 6, sum: 73.25, min: 8.5, max: 17.25, last: 17.25, gaps: 0, resets: 0, sketch: sketch.toData() },
      { container: 'api', metric: 'mem.usage_bytes', start: T - 60_000, end: T, count: 6, sum: 603_979_776, min: 100_663_296, max: 100_663_296, last: 100_663_296, gaps: 0, resets: 0 },
      { container: 'db', metric: 'net.rx_bytes_per_s', start: T - 60_000, end: T - 30_000, count: 3, sum: 1234.567, min: 0.001, max: 1000.5, last: 234.066, gaps: 3, resets: 1 },
      { container: '', metric: 'host.load1', start: T - 60_000, end: T, count: 6, sum: 0.1 + 0.2, min: 0.1, max: 0.2, last: 0.15000000000000002, gaps: 0, resets: 0 },
    ],
    logs: [
      { ts: T - 59_000, container: 'api', level: 2, message: 'GET /healthz 200 1.2ms', stream: 'stdout', repeat: 1, templateId: 't-1', fields: { method: 'GET', status: '200' } },
      { ts: T - 58_000, container: 'api', level: 4, message: 'upstream timed out (110: Connection timed out)', stream: 'stderr', repeat: 3, templateId: '', fields: {} },
      { ts: T - 58_000, container: 'db', level: 5, message: 'FATAL:  the database system is shutting down', stream: 'stderr', repeat: 1, templateId: '', fields: { pid: '1' } },
    ],
    templates: [
      { container: 'api', id: 't-1', template: 'GET <*> <*> <*>', level: 2, count: 812, firstSeen: T - 59_500, lastSeen: T - 100, samples: [{ ts: T - 59_500, params: ['/healthz', '200', '1.2ms'] }, { ts: T - 1000, params: ['/api/v1/x', '404', '0.3ms'] }] },
      { container: 'db', id: 't-2', template: 'checkpoint complete', level: 1, count: 1, firstSeen: T - 20_000, lastSeen: T - 20_000, samples: [] },
    ],
    events: [
      { ts: T - 45_000, container: 'db', kind: 'die', attrs: { exitCode: '0' } },
      { ts: T - 44_000, container: 'db', kind: 'gap', attrs: {} },
    ],
    drops: [
      { stage: 'logs.level', reason: 'below_level', container: '', count: 1500 },
      { stage: 'outbox.evict', reason: 'cap_templates', container: 'api', count: 2 },
    ],
    health: { uplinkBytes: 48_213, rawBytes: 9_812_400, queueBatches: 3, queueBytes: 61_000, budgetLeftBytes: 51_200_000, degradeLevel: 1, cpuPct: 1.7, rssBytes: 78_000_000, agentVersion: '0.1.0' },
  },

  unicode: {
    node: 'gw-unicode',
    epoch: 7,
    seq: 1,
    sentAt: T,
    windowStart: T,
    windowEnd: T,
    containers: [{ id: 'c1', name: 'café-服务', image: 'ünï:cødé', state: 'running', labels: { 'ключ': 'значение', ['__proto__']: 'not a prototype', '': 'empty key' } }],
    metrics: [],
    logs: [
      { ts: T, container: 'café-服务', level: 3, message: 'Ошибка: ファイルが見つかりません 😀 \u0000 tab\tquote" backslash\\', stream: 'stderr', repeat: 1, templateId: '', fields: { emoji: '🚀✓' } },
      { ts: T, container: 'café-服务', level: 0, message: '', stream: 'stdout', repeat: 1, templateId: '', fields: {} },
    ],
    templates: [{ container: 'café-服务', id: 'ü', template: 'Ошибка: <*>', level: 3, count: 1, firstSeen: T, lastSeen: T, samples: [{ ts: T, params: ['ファイルが見つかりません 😀'] }] }],
    events: [],
    drops: [],
    health: { ...health, agentVersion: 'β-0.1 ✓' },
  },

  extremes: {
    node: 'A',
    epoch: Number.MAX_SAFE_INTEGER,
    seq: Number.MAX_SAFE_INTEGER,
    sentAt: 2 ** 47,
    windowStart: 0,
    windowEnd: 2 ** 47,
    containers: [],
    metrics: [
      { container: 'x', metric: 'big', start: 0, end: 2 ** 47, count: Number.MAX_SAFE_INTEGER, sum: Number.MAX_VALUE, min: -Number.MAX_VALUE, max: Number.MAX_VALUE, last: Number.MIN_VALUE, gaps: Number.MAX_SAFE_INTEGER, resets: 0 },
      { container: 'x', metric: 'ints', start: 2 ** 47, end: 2 ** 47, count: 0, sum: 2 ** 50, min: -(2 ** 50), max: 2 ** 50 + 2, last: 2 ** 53, gaps: 0, resets: 0 },
      { container: 'x', metric: 'decimals', start: 1, end: 2, count: 1, sum: 123456789012345.6, min: 1e-6, max: 0.1, last: -999999999999999.9, gaps: 0, resets: 0 },
      { container: 'x', metric: 'tiny', start: 0, end: 0, count: 1, sum: 1e-300, min: -1e-300, max: 5e-324, last: 1.7976931348623157e308, gaps: 0, resets: 0 },
    ],
    logs: [{ ts: 0, container: 'x', level: 5, message: 'x'.repeat(1000), stream: 'stdout', repeat: Number.MAX_SAFE_INTEGER, templateId: '', fields: {} }],
    templates: [],
    events: [{ ts: 2 ** 47, container: 'x', kind: 'oom', attrs: {} }],
    drops: [{ stage: 's', reason: 'r', container: '', count: Number.MAX_SAFE_INTEGER }],
    health: { uplinkBytes: Number.MAX_SAFE_INTEGER, rawBytes: 0, queueBatches: 0, queueBytes: Number.MAX_SAFE_INTEGER, budgetLeftBytes: Number.MAX_SAFE_INTEGER - 1, degradeLevel: 9, cpuPct: 400, rssBytes: 0, agentVersion: '' },
  },
};
