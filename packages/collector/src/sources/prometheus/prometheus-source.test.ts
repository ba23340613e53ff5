/**
 * The Prometheus source against HTTP targets on loopback: well-behaved ones (counters, OpenMetrics,
 * gzip, label discovery through the Docker replay engine, a target going away) and hostile ones
 * (slowloris, endless and gzip-bomb bodies, 100,000 series, errors): each gives `up` 0 or counted
 * drops and a clear code, never a crash or an unbounded buffer.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DropCounter } from '../../batch/drops.js';
import type { MetricsLogEntry } from '../../self/log.js';
import { SelfHealth } from '../../self/self-health.js';
import { waitFor } from '../../../../../test/support/wait.js';
import type { HistogramSample, Sample } from '../types.js';
import { DockerSource } from '../docker/docker-source.js';
import { loadStatsFixtures, startReplayServer } from '../docker/replay-server.js';
import { PrometheusSource, type PrometheusSourceDeps } from './prometheus-source.js';
import type { PrometheusSourceOptions } from './options.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
const closers: Array<() => Promise<void>> = [];
let got: Array<{ source: string; samples: Sample[]; histograms: HistogramSample[] }>;
let logs: MetricsLogEntry[];
let drops: DropCounter;
let health: SelfHealth;

async function serve(handler: Handler): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/**
 * The collector's tick in these tests, and every target's timeout unless a case sets one: a target's
 * timeout is at most its interval, and with a 1 s tick a loopback scrape that a loaded machine
 * delayed past 1 s came back down (up 0). A case waits for its scrape's result instead
 * (`scrapeOnce`); only the slowloris is meant to reach its deadline.
 */
const TICK = 60_000;

function source(options: Partial<PrometheusSourceOptions>, deps: Partial<PrometheusSourceDeps> = {}): PrometheusSource {
  const s = new PrometheusSource(
    { timeoutMs: TICK, ...options },
    {
      scrapeIntervalMs: TICK,
      sink: (src, r) => got.push({ source: src, samples: [...r.samples], histograms: [...(r.histograms ?? [])] }),
      report: drops,
      log: (e) => logs.push(e),
      meter: health.meter,
      ...deps,
    },
  );
  closers.push(() => s.close());
  return s;
}

/** Scrapes once at `tick` and waits for the sink to receive that target scrape. */
async function scrapeOnce(s: PrometheusSource, tick: number, expected = 1): Promise<typeof got> {
  const before = got.length;
  await s.scrape(tick);
  await waitFor('target scrapes in the sink', () => got.length >= before + expected);
  return got.slice(before);
}

const value = (samples: Sample[], metric: string, attrs: Record<string, string> = {}) =>
  samples.find((x) => x.metric === metric && Object.entries(attrs).every(([k, v]) => x.attrs?.[k] === v))?.value;

async function selfCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await health.collect(Date.now())) if (s.metric.startsWith('prometheus.')) out[s.metric] = s.value;
  return out;
}

beforeEach(() => {
  got = [];
  logs = [];
  drops = new DropCounter();
  health = new SelfHealth();
});

afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await health.close();
});

describe('PrometheusSource', () => {
  it('scrapes a static target: counters, gauges, up and its own attributes, stamped with the tick', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE reqs_total counter\nreqs_total{code="200"} ${n * 10}\n# TYPE temp gauge\ntemp 21.5\n`);
    });
    const s = source({ static: [{ url, container: 'plc-bridge', job: 'plc' }] });
    const [first] = await scrapeOnce(s, 5 * TICK);
    const instance = new URL(url).host;
    expect(first?.source).toBe(`prometheus/plc-bridge\u0000${url}`);
    expect(first?.samples.find((x) => x.metric === 'reqs_total')).toEqual({
      container: 'plc-bridge',
      metric: 'reqs_total',
      value: 10,
      ts: 5 * TICK,
      kind: 'counter',
      attrs: { code: '200', instance, job: 'plc' },
    });
    expect(value(first?.samples ?? [], 'temp')).toBe(21.5);
    expect(value(first?.samples ?? [], 'up')).toBe(1);
    expect(value(first?.samples ?? [], 'scrape_duration_seconds')).toBeGreaterThan(0);
    expect(await selfCounts()).toMatchObject({
      'prometheus.scrapes': 1,
      'prometheus.samples': 2,
      'prometheus.targets': 1,
    });
    // A target whose interval is two ticks is not scraped on the ticks between. A scrape is counted
    // as it starts, within scrape(), so the skipped tick shows without waiting for a result that
    // should not come (counts are deltas since the last selfCounts()).
    const slow = source({ static: [{ url, intervalMs: 2 * TICK }] });
    await slow.scrape(3 * TICK);
    expect((await selfCounts())['prometheus.scrapes'] ?? 0).toBe(0);
    const [next] = await scrapeOnce(slow, 4 * TICK);
    expect(next?.samples[0]?.ts).toBe(4 * TICK);
    expect((await selfCounts())['prometheus.scrapes']).toBe(1);
  });

  it('hands histograms on as cumulative bucket points, and drops points the target timed backwards', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# TYPE lat_seconds histogram',
          `lat_seconds_bucket{op="read",le="0.5"} ${n}`,
          `lat_seconds_bucket{op="read",le="+Inf"} ${2 * n}`,
          `lat_seconds_sum{op="read"} ${n * 1.5}`,
          `lat_seconds_count{op="read"} ${2 * n}`,
          // A federated-style gauge whose own time goes back at the second scrape.
          `remote_temp ${20 + n} ${n === 2 ? 1000 : 2000 * n}`,
          '',
        ].join('\n'),
      );
    });
    const s = source({ static: [{ url, job: 'app' }] });
    const [first] = await scrapeOnce(s, TICK);
    expect(first?.histograms).toEqual([
      {
        container: '',
        metric: 'lat_seconds',
        ts: TICK,
        attrs: { instance: new URL(url).host, job: 'app', op: 'read' },
        temporality: 'cumulative',
        histogram: { kind: 'explicit', bounds: [0.5], counts: [1, 1], count: 2, sum: 1.5 },
      },
    ]);
    expect(value(first?.samples ?? [], 'lat_seconds_count')).toBe(2);
    expect(value(first?.samples ?? [], 'remote_temp')).toBe(21);
    const [second] = await scrapeOnce(s, 2 * TICK);
    expect(second?.histograms[0]?.histogram).toMatchObject({ counts: [2, 2], count: 4 });
    expect(value(second?.samples ?? [], 'remote_temp')).toBeUndefined();
    const [third] = await scrapeOnce(s, 3 * TICK);
    expect(value(third?.samples ?? [], 'remote_temp')).toBe(23);
    expect(drops.take()).toEqual([{ stage: 'sources.prometheus', reason: 'out_of_order', container: '', count: 1 }]);
  });

  it('reads OpenMetrics and gzip as the target chooses, and fails a cut OpenMetrics body', async () => {
    let eof = true;
    const url = await serve((req, res) => {
      expect(req.headers.accept).toContain('application/openmetrics-text');
      const body = `# TYPE jobs counter\njobs_total 5\njobs_created 1.7e9\n${eof ? '# EOF\n' : ''}`;
      res.writeHead(200, {
        'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
        'content-encoding': 'gzip',
      });
      res.end(zlib.gzipSync(body));
    });
    const s = source({ static: [{ url }] });
    const [ok] = await scrapeOnce(s, TICK);
    expect(ok?.samples.map((x) => [x.metric, x.kind, x.value]).slice(0, 2)).toEqual([
      ['jobs_total', 'counter', 5],
      ['up', 'gauge', 1],
    ]);
    eof = false;
    const [cut] = await scrapeOnce(s, 2 * TICK);
    expect(cut?.source).toBe(ok?.source);
    expect(cut?.samples.map((x) => x.metric)).toEqual(['up', 'scrape_duration_seconds']);
    expect(value(cut?.samples ?? [], 'up')).toBe(0);
    expect(logs.some((l) => l.code === 'ET_ERR_PROM_TRUNCATED')).toBe(true);
  });

  it('finds targets by container labels on the Docker replay engine, and marks a vanished one stale', async () => {
    const url = new URL(await serve((_req, res) => res.end('app_items 3\n')));
    const dir = await mkdtemp(path.join(tmpdir(), 'prom-docker-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const [base] = await loadStatsFixtures();
    if (!base) throw new Error('no stats fixture');
    const labelled = {
      ...base,
      id: 'a'.repeat(64),
      name: 'app',
      ip: '127.0.0.1',
      labels: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': url.port, 'prometheus.io/path': '/metrics' },
    };
    const unlabelled = { ...base, id: 'b'.repeat(64), name: 'db', ip: '127.0.0.2' };
    const badPort = { ...base, id: 'c'.repeat(64), name: 'bad', labels: { 'prometheus.io/scrape': 'true' } };
    const engine = await startReplayServer(path.join(dir, 'docker.sock'), [labelled, unlabelled, badPort]);
    closers.push(() => engine.close());
    const docker = new DockerSource({ socketPath: engine.socketPath });
    closers.push(() => docker.close());
    await docker.scrape(1000);
    const s = source({}, { containers: () => docker.listed() });
    const [r] = await scrapeOnce(s, TICK);
    expect(s.targets().map((t) => [t.container, t.url.href])).toEqual([
      ['app', `http://127.0.0.1:${url.port}/metrics`],
    ]);
    expect(r?.samples[0]).toMatchObject({ container: 'app', metric: 'app_items', value: 3, attrs: { job: 'docker' } });
    expect(logs.filter((l) => l.code === 'ET_ERR_PROM_TARGET').map((l) => l.msg)).toEqual([
      'container bad: prometheus.io/port null is not a port',
    ]);

    // The container goes: one empty scrape under its source name (every series a gap), then no more.
    engine.containers.splice(0, 1);
    await docker.scrape(2000);
    await s.scrape(2 * TICK);
    expect(got.at(-1)).toEqual({ source: r?.source, samples: [], histograms: [] });
    expect(s.targets()).toEqual([]);
    const count = got.length;
    await s.scrape(3 * TICK);
    expect(got).toHaveLength(count);
  });

  it('gives up a slowloris target at its timeout, a huge body at maxBodyBytes and a gzip bomb likewise', async () => {
    const slow = await serve((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('a'), 50);
      res.on('close', () => clearInterval(t));
    });
    const endless = await serve((_req, res) => {
      res.writeHead(200);
      const line = `${'x'.repeat(100)} 1\n`.repeat(100);
      const pump = () => {
        while (res.write(line));
      };
      res.on('drain', pump);
      pump();
    });
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x41));
    const gzipBomb = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(bomb);
    });
    // Only the slowloris may reach a timeout: the others keep the tick's, far beyond what reading
    // their first MiB takes on a loaded machine, so each can only end at maxBodyBytes. A target that
    // never gave up would leave scrapeOnce waiting for its result until it fails.
    const s = source({
      static: [{ url: slow, timeoutMs: 1000 }, { url: endless }, { url: gzipBomb }],
      maxBodyBytes: 1024 * 1024,
    });
    const results = await scrapeOnce(s, TICK, 3);
    const codes = logs.map((l) => l.code).sort();
    for (const r of results) expect(value(r.samples, 'up')).toBe(0);
    expect(codes).toEqual(['ET_ERR_PROM_TIMEOUT', 'ET_ERR_PROM_TOO_LARGE', 'ET_ERR_PROM_TOO_LARGE']);
    expect(await selfCounts()).toMatchObject({
      'prometheus.failures.ET_ERR_PROM_TIMEOUT': 1,
      'prometheus.failures.ET_ERR_PROM_TOO_LARGE': 2,
    });
  });

  // The session-9 trial (read in the code): the scrapes share `concurrency` slots in one queue, so a
  // few targets that accept the connection and send nothing hold every slot up to their timeout,
  // and the others fail with "previous scrape still running". A real stalling socket here, with one
  // slot: the healthy target must be scraped while the stalled scrape still holds its connection.
  it('scrapes the answering targets while a target that failed its last scrape stalls', async () => {
    let stalling = false;
    const open = new Set<net.Socket>();
    const stall = net.createServer((socket) => {
      // First scrape: refused at once (down); then: accepted and left without an answer.
      if (!stalling) return void socket.destroy();
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    closers.push(() => new Promise((r) => (stall.close(() => r()), open.forEach((x) => x.destroy()))));
    await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
    const stalled = `http://127.0.0.1:${(stall.address() as AddressInfo).port}/metrics`;
    let healthyScrapes = 0;
    const healthy = await serve((_req, res) => {
      healthyScrapes++;
      res.end('jobs_total 1\n');
    });
    // The stalled target first in the queue; its timeout (the tick's) beyond both waits below
    // together, so the stalled scrape still holds its connection when the healthy one is checked.
    const s = source({ concurrency: 1, static: [{ url: stalled }, { url: healthy }] });
    const first = await scrapeOnce(s, TICK, 2);
    expect(first.map((r) => value(r.samples, 'up')).sort()).toEqual([0, 1]);
    stalling = true;
    await s.scrape(2 * TICK);
    await waitFor('the stalled target connected again', () => open.size === 1, { timeoutMs: 20_000 });
    await waitFor('the healthy target scraped again', () => healthyScrapes === 2, { timeoutMs: 20_000 });
    expect(open.size).toBe(1);
  });

  it('keeps the first maxSeries of 100,000 series and counts the rest; refused, missing and erroring targets are down', async () => {
    const body = Array.from({ length: 100_000 }, (_, i) => `flood{i="${i}"} ${i}\n`).join('');
    const flood = await serve((_req, res) => res.end(body));
    const broken = await serve((_req, res) => {
      res.writeHead(503);
      res.end('overloaded');
    });
    const refused = await serve(() => undefined);
    servers.pop()?.close(); // nothing listens there any more
    const s = source({ static: [{ url: flood }, { url: broken }, { url: refused }], maxSeries: 500 });
    const results = await scrapeOnce(s, TICK, 3);
    const byUrl = (u: string) => results.find((r) => r.source.endsWith(u))?.samples ?? [];
    expect(byUrl(flood).filter((x) => x.metric === 'flood')).toHaveLength(500);
    expect(value(byUrl(flood), 'up')).toBe(1);
    expect(value(byUrl(broken), 'up')).toBe(0);
    expect(value(byUrl(refused), 'up')).toBe(0);
    expect(drops.take()).toEqual([
      { stage: 'sources.prometheus', reason: 'series_limit', container: '', count: 99_500 },
    ]);
    expect(logs.map((l) => l.code).sort()).toEqual(['ET_ERR_PROM_CONNECT', 'ET_ERR_PROM_HTTP', 'ET_ERR_PROM_LIMIT']);
    // The same failure again is counted, not logged again.
    await scrapeOnce(s, 2 * TICK, 3);
    expect(logs).toHaveLength(3);
  });
});
