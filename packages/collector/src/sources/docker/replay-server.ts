/**
 * A stand-in Docker Engine for tests and benchmarks: node:http on a unix socket serving real
 * Engine API stats bodies (fixtures/metrics/docker, see SOURCES.md there) byte for byte, with
 * switches for the awkward cases: a container that vanishes between list and stats (404), engine
 * 500s, a slow engine, and event streams that the test feeds and cuts. `containers` is served as it is
 * at each request: a test adds and removes containers by changing the array.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReplayContainer {
  id: string;
  name: string;
  image: string;
  /** The raw stats body, served unparsed so 64-bit numbers arrive as the engine wrote them. */
  statsBody: string;
  /** Labels besides the fixture's own (e.g. `prometheus.io/scrape`). */
  labels?: Record<string, string>;
  /** The container's IP on the engine's `bridge` network, as the list reports it; none = host network mode. */
  ip?: string;
}

export interface ReplayFaults {
  /** Container ids whose stats answer 404 although the list still names them. */
  vanished: Set<string>;
  /** Every request answers HTTP 500 (engine failing). */
  engineError: boolean;
  /** Delay before each answer, ms (slow socket). */
  delayMs: number;
}

export interface ReplayServer {
  readonly socketPath: string;
  readonly faults: ReplayFaults;
  readonly containers: ReplayContainer[];
  /** Requests served so far, by path without query. */
  readonly requests: Map<string, number>;
  /** Writes one line to every open /events stream. */
  sendEvent(line: string): void;
  /** Ends every open /events stream, as an engine restart does. */
  endEvents(): void;
  eventClients(): number;
  close(): Promise<void>;
}

export const DOCKER_FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/metrics/docker/', import.meta.url));

/** The stats fixtures as containers; a body without id/name (the API doc example) gets one from its file name. */
export async function loadStatsFixtures(dir = path.join(DOCKER_FIXTURES_DIR, 'stats')): Promise<ReplayContainer[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const out: ReplayContainer[] = [];
  for (const f of files) {
    const statsBody = await readFile(path.join(dir, f), 'utf8');
    const head = JSON.parse(statsBody) as { id?: string; name?: string };
    const stem = f.replace(/\.json$/, '');
    const id = head.id ?? createHash('sha256').update(stem).digest('hex');
    let name = (head.name ?? stem).replace(/^\//, '');
    // Two captures come from different hosts with the same container name; an engine keeps names unique.
    if (out.some((c) => c.name === name)) name = `${name}-${id.slice(0, 12)}`;
    out.push({
      id,
      name,
      image: `fixture/${stem}`,
      statsBody,
    });
  }
  return out;
}

/** n containers cycling through the given bodies, each with its own id and name (the 50-container benchmark). */
export function replicateContainers(base: readonly ReplayContainer[], n: number): ReplayContainer[] {
  return Array.from({ length: n }, (_, i) => {
    const b = base[i % base.length] as ReplayContainer;
    return { ...b, id: createHash('sha256').update(`${b.id}/${i}`).digest('hex'), name: `${b.name}-${i}` };
  });
}

export async function startReplayServer(socketPath: string, containers: ReplayContainer[]): Promise<ReplayServer> {
  const faults: ReplayFaults = { vanished: new Set(), engineError: false, delayMs: 0 };
  const requests = new Map<string, number>();
  const streams = new Set<ServerResponse>();
  const json = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    const answer = (): void => {
      if (faults.engineError) return json(res, 500, '{"message":"replay: engine error"}');
      if (url.pathname === '/containers/json') {
        const list = containers.map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Image: c.image,
          State: 'running',
          Status: 'Up',
          Labels: { 'com.example.fixture': 'docker-replay', ...c.labels },
          HostConfig: { NetworkMode: c.ip === undefined ? 'host' : 'bridge' },
          NetworkSettings: { Networks: c.ip === undefined ? {} : { bridge: { IPAddress: c.ip } } },
        }));
        return json(res, 200, JSON.stringify(list));
      }
      const m = /^\/containers\/([^/]+)\/stats$/.exec(url.pathname);
      if (m) {
        const c = containers.find((x) => x.id === m[1]);
        if (!c || faults.vanished.has(c.id)) return json(res, 404, `{"message":"No such container: ${m[1]}"}`);
        return json(res, 200, c.statsBody);
      }
      if (url.pathname === '/events') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      json(res, 404, '{"message":"page not found"}');
    };
    if (faults.delayMs > 0) setTimeout(answer, faults.delayMs);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    faults,
    containers,
    requests,
    sendEvent: (line) => {
      for (const s of streams) s.write(`${line}\n`);
    },
    endEvents: () => {
      for (const s of streams) s.end();
      streams.clear();
    },
    eventClients: () => streams.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
