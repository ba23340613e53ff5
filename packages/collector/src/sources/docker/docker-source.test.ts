import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ContainerEvent } from '@edge-telemetry/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sample } from '../types.js';
import { SelfHealth } from '../../self/self-health.js';
import type { MetricsLogEntry } from '../../self/log.js';
import { waitFor } from '../../../../../test/support/wait.js';
import { backoff, DockerSource } from './docker-source.js';
import {
  DOCKER_FIXTURES_DIR,
  loadStatsFixtures,
  startReplayServer,
  type ReplayContainer,
  type ReplayServer,
} from './replay-server.js';

let dir: string;
let server: ReplayServer;
let containers: ReplayContainer[];
let logs: MetricsLogEntry[];
let health: SelfHealth;
const sources: DockerSource[] = [];

function source(opts: Partial<ConstructorParameters<typeof DockerSource>[0]> = {}): DockerSource {
  const s = new DockerSource(
    { socketPath: server.socketPath, backoffInitialMs: 50, backoffMaxMs: 400, requestTimeoutMs: 1000, ...opts },
    { log: (e) => logs.push(e), meter: health.meter },
  );
  sources.push(s);
  return s;
}

/** Error counts by code since the previous call, read through the self-health OTel reader. */
async function errorCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await health.collect(Date.now())) {
    const m = /^source\.errors\.(ET_ERR_\w+)\.docker$/.exec(s.metric);
    if (m) out[m[1] as string] = s.value;
  }
  return out;
}

function byName(samples: Sample[], name: string, metric: string): number | undefined {
  return samples.find((s) => s.container === name && s.metric === metric)?.value;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'docker-replay-'));
  containers = await loadStatsFixtures();
  server = await startReplayServer(path.join(dir, 'docker.sock'), containers);
  logs = [];
  health = new SelfHealth();
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
  await server.close();
  await health.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DockerSource against the replay engine', () => {
  it('lists every container and reads its stats from the real payloads', async () => {
    const r = await source().scrape(1_000);
    expect(r.containers.map((c) => c.name).sort()).toEqual(containers.map((c) => c.name).sort());
    expect(new Set(r.samples.map((x) => x.container)).size).toBe(containers.length);

    // cgroup v2 capture: used memory = usage - inactive_file, as `docker stats` shows it.
    const v2 = JSON.parse(
      await readFile(path.join(DOCKER_FIXTURES_DIR, 'stats/otel-contrib_cgroups_v2_stats.json'), 'utf8'),
    );
    expect(byName(r.samples, 'compassionate_mcnulty', 'mem.usage_bytes')).toBe(
      v2.memory_stats.usage - v2.memory_stats.stats.inactive_file,
    );
    expect(byName(r.samples, 'compassionate_mcnulty', 'mem.limit_bytes')).toBe(v2.memory_stats.limit);
    expect(byName(r.samples, 'compassionate_mcnulty', 'pids.current')).toBe(1);
    expect(byName(r.samples, 'compassionate_mcnulty', 'blkio.read_bytes')).toBe(167936);
    // First sample from the engine (precpu all zero) and no previous scrape: no CPU% rather than a wrong one.
    expect(byName(r.samples, 'compassionate_mcnulty', 'cpu.usage_pct')).toBeUndefined();

    // cgroup v1 capture: total_inactive_file is subtracted; the 2^63 memory limit is "unlimited"-sized but real here.
    const v1 = JSON.parse(
      await readFile(
        path.join(DOCKER_FIXTURES_DIR, 'stats/otel-contrib_single_container_cgroups_v1_stats.json'),
        'utf8',
      ),
    );
    expect(byName(r.samples, 'bold_sinoussi', 'mem.usage_bytes')).toBe(
      v1.memory_stats.usage - v1.memory_stats.stats.total_inactive_file,
    );
    expect(byName(r.samples, 'bold_sinoussi', 'blkio.read_bytes')).toBe(2502656);
    expect(byName(r.samples, 'bold_sinoussi', 'net.rx_bytes')).toBe(1532);

    // The API example has two interfaces, summed, and precpu_stats filled: CPU% from the body itself.
    const ex = containers.find((c) => c.image.includes('moby'))?.name ?? '';
    expect(byName(r.samples, ex, 'net.rx_bytes')).toBe(5338 + 4641);
    expect(byName(r.samples, ex, 'cpu.usage_pct')).toBeCloseTo(
      ((100215355 - 100093996) / (739306590000000 - 9492140000000)) * 4 * 100,
      12,
    );
    for (const s of r.samples) expect(Number.isFinite(s.value)).toBe(true);
  });

  it('leaves a container that vanishes between list and stats without samples (a gap), counts and logs it', async () => {
    const s = source();
    await errorCounts();
    await s.scrape(1_000);
    const gone = containers[0] as ReplayContainer;
    server.faults.vanished.add(gone.id);
    const r = await s.scrape(11_000);
    expect(r.samples.some((x) => x.container === gone.name)).toBe(false);
    expect(r.samples.some((x) => x.container === (containers[1] as ReplayContainer).name)).toBe(true);
    expect((await errorCounts()).ET_ERR_DOCKER_GONE).toBeGreaterThan(0);
    expect(logs.some((l) => l.code === 'ET_ERR_DOCKER_GONE' && l.fields?.container === gone.name)).toBe(true);
  });

  it('backs off after engine 500s and recovers when the engine does', async () => {
    const s = source();
    await s.scrape(1_000);
    server.faults.engineError = true;
    const r1 = await s.scrape(2_000);
    expect(r1.samples).toEqual([]);
    expect(r1.containers.length).toBe(containers.length);
    const listCalls = server.requests.get('/containers/json');
    // Within the backoff delay the engine is left alone; known containers show as gaps.
    const r2 = await s.scrape(2_010);
    expect(server.requests.get('/containers/json')).toBe(listCalls);
    expect(r2.samples).toEqual([]);
    expect(r2.containers.length).toBe(containers.length);
    server.faults.engineError = false;
    const r3 = await s.scrape(2_000 + 50);
    expect(new Set(r3.samples.map((x) => x.container)).size).toBe(containers.length);
    expect(logs.filter((l) => l.code === 'ET_ERR_DOCKER_ENGINE')).toHaveLength(1);
  });

  it('turns a slow engine into a timeout, not a hang', async () => {
    server.faults.delayMs = 300;
    const s = source({ requestTimeoutMs: 100 });
    await errorCounts();
    const r = await s.scrape(1_000);
    expect(r.samples).toEqual([]);
    expect((await errorCounts()).ET_ERR_DOCKER_TIMEOUT).toBeGreaterThan(0);
  });

  it('keeps a scrape within its budget when every answer is slow', async () => {
    const s = source({ statsConcurrency: 1, scrapeBudgetMs: 150 });
    server.faults.delayMs = 60;
    const r = await s.scrape(1_000);
    const late = containers.length - new Set(r.samples.map((x) => x.container)).size;
    // The list and the first stats take ~120 ms; the rest of the five containers are left as gaps.
    expect(late).toBeGreaterThan(0);
    expect(logs.some((l) => l.code === 'ET_ERR_DOCKER_TIMEOUT' && l.fields?.skipped === late)).toBe(true);
  });

  it('survives a missing socket with a clear log line', async () => {
    const s = source({ socketPath: path.join(dir, 'absent.sock') });
    const r = await s.scrape(1_000);
    expect(r).toEqual({ samples: [], containers: [] });
    expect(logs[0]?.code).toBe('ET_ERR_DOCKER_SOCKET_MISSING');
    expect(logs[0]?.msg).toContain('absent.sock');
    expect(backoff(1, 50, 400)).toBe(50);
    expect(backoff(5, 50, 400)).toBe(400);
  });

  it('delivers lifecycle events at once and reconnects after the engine cuts the stream', async () => {
    const got: ContainerEvent[] = [];
    const s = source();
    s.startEvents((e) => got.push(e));
    await until(() => server.eventClients() === 1);
    const lines = (await readFile(path.join(DOCKER_FIXTURES_DIR, 'events.ndjson'), 'utf8')).trim().split('\n');
    server.sendEvent(lines[0] as string);
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ container: 'bold_sinoussi', kind: 'start', ts: 1657081623043 });

    server.endEvents();
    await until(() => server.eventClients() === 1);
    expect(logs.some((l) => l.code === 'ET_ERR_DOCKER_EVENTS')).toBe(true);
    server.sendEvent('{"Type":"container","Action": broken');
    for (const l of lines.slice(1)) server.sendEvent(l);
    await until(() => got.length === 5);
    expect(got.map((e) => e.kind)).toEqual(['start', 'health_status', 'oom', 'die', 'restart']);
    expect(got[1]?.attrs.health_status).toBe('unhealthy');
    expect(got[3]?.attrs.exitCode).toBe('137');
    // Labels arrive as attributes too; they must not leave unbounded.
    expect(Object.keys(got[0]?.attrs ?? {}).sort()).toEqual(['id', 'image']);
  });
});

const until = (cond: () => boolean) => waitFor('the event stream', cond);
