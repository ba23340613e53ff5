/**
 * Issue 9: every compose file is parsed and held to the deployment invariants (limits, read-only
 * root, non-root user, healthchecks, pinned images), plus what each file specifically promises.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { composeServiceProblems, parseVolume, type ComposeServiceExpectations } from './invariants.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerDir = path.join(root, 'docker');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface Service {
  image: string;
  user: string;
  read_only?: boolean;
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  entrypoint?: string[];
  tmpfs?: string[];
  ulimits?: { nofile?: { soft: number; hard: number } };
  group_add?: string[];
  cap_drop?: string[];
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string; memory?: string } } };
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}
const compose = (file: string) => parse(read(`docker/${file}`)) as Compose;

/** Services allowed a writable root, each with the reason (also written beside it in the file). */
const WRITABLE_ROOT: Record<string, ComposeServiceExpectations & { why: string }> = {
  'compose.central.yml/clickhouse': {
    writableRoot: true,
    why: 'the server image writes its generated user config into /etc/clickhouse-server at start',
  },
};

const files = ['compose.edge.yml', 'compose.central.yml'];

describe.each(files)('docker/%s', (file) => {
  const c = compose(file);

  it('holds every service to the invariants', () => {
    const problems = Object.entries(c.services).flatMap(([name, s]) =>
      composeServiceProblems(name, s, WRITABLE_ROOT[`${file}/${name}`]),
    );
    expect(problems).toEqual([]);
  });

  it('mounts only files that exist (or deployment secrets that are git-ignored)', () => {
    const ignored = read('docker/.gitignore').split('\n');
    for (const [name, s] of Object.entries(c.services)) {
      for (const v of (s.volumes ?? []).map(parseVolume).filter((x) => x.source.startsWith('./'))) {
        const rel = path.posix.normalize(v.source);
        const secret = ignored.some(
          (g) =>
            g && !g.startsWith('#') && (rel === g.replace(/\/$/, '') || rel.startsWith(g.replace(/\/$/, '') + '/')),
        );
        expect(secret || existsSync(path.join(dockerDir, rel)), `${name}: ${v.source}`).toBe(true);
      }
    }
  });

  it('declares every named volume it uses', () => {
    for (const s of Object.values(c.services)) {
      for (const v of (s.volumes ?? [])
        .map(parseVolume)
        .filter((x) => !x.source.startsWith('.') && !x.source.startsWith('/'))) {
        expect(Object.keys(c.volumes ?? {})).toContain(v.source);
      }
    }
  });
});

describe('invariant checks reject broken services', () => {
  const good = compose('compose.edge.yml').services.collector as Service;
  const cases: [string, (s: Service) => Service, RegExp][] = [
    ['root user', (s) => ({ ...s, user: '0:0' }), /non-root/],
    ['named root user', (s) => ({ ...s, user: 'root' }), /non-root/],
    ['no limits', (s) => ({ ...s, deploy: {} }), /limits/],
    ['writable root', (s) => ({ ...s, read_only: false }), /read_only/],
    ['no healthcheck', ({ healthcheck: _h, ...s }) => s as Service, /healthcheck/],
    [':latest image', (s) => ({ ...s, image: 'edge-telemetry/collector:latest' }), /moving tag/],
    ['unpinned variable image', (s) => ({ ...s, image: '${COLLECTOR_IMAGE}' }), /pinned default/],
  ];
  it.each(cases)('%s', (_what, mutate, problem) => {
    expect(composeServiceProblems('collector', good)).toEqual([]);
    expect(composeServiceProblems('collector', mutate(good)).join('\n')).toMatch(problem);
  });
});

describe('compose.edge.yml: the collector', () => {
  const s = compose('compose.edge.yml').services.collector as Service;
  const mounts = (s.volumes ?? []).map(parseVolume);
  const mount = (target: string) => mounts.find((m) => m.target === target);

  it('stays inside the edge budget: 0.2 CPU and 128 MiB', () => {
    expect(s.deploy?.resources?.limits).toEqual({ cpus: '0.2', memory: '128M' });
  });

  it('sees the host read-only: Docker socket, container logs, cgroups', () => {
    for (const t of ['/var/run/docker.sock', '/var/lib/docker/containers', '/sys/fs/cgroup']) {
      expect(mount(t), t).toMatchObject({ source: t, readOnly: true });
    }
  });

  it('writes only to its data volume (and a small tmpfs)', () => {
    expect(s.read_only).toBe(true);
    const writable = mounts.filter((m) => !m.readOnly);
    expect(writable).toEqual([{ source: 'collector-data', target: '/data', readOnly: false }]);
    expect(s.environment?.EDGE_TELEMETRY_COLLECTOR_DATA_DIR).toBe('/data');
    expect(s.tmpfs?.every((t) => /size=\d+m/.test(t))).toBe(true);
  });

  it('runs without capabilities, with the socket group instead of root', () => {
    expect(s.cap_drop).toEqual(['ALL']);
    expect(s.user.split(':')[0]).not.toBe('0');
    expect(s.group_add?.[0]).toMatch(/DOCKER_GID/);
  });

  it('takes its broker settings from the environment that `nodes add --format env` prints', () => {
    const env = s.environment ?? {};
    for (const k of ['NODE', 'UPLINK_MQTT_URL', 'UPLINK_MQTT_USERNAME', 'UPLINK_MQTT_PASSWORD']) {
      expect(env[`EDGE_TELEMETRY_COLLECTOR_${k}`], k).toMatch(/^\$\{EDGE_TELEMETRY_COLLECTOR_\w+:\?/);
    }
    expect(env.EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_TLS_CA).toBe(
      mount(env.EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_TLS_CA ?? '')?.target,
    );
  });
});

describe('compose.central.yml', () => {
  const c = compose('compose.central.yml');

  it('pins ClickHouse to an LTS line (YY.3 or YY.8)', () => {
    expect(c.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:\d{2}\.(3|8)(\.\d+)*$/);
  });

  it('runs Mosquitto with the shipped config directory, publishing only the TLS port', () => {
    const m = c.services.mosquitto as Service;
    const mounts = (m.volumes ?? []).map(parseVolume);
    expect(mounts).toContainEqual({ source: './mosquitto', target: '/mosquitto/config', readOnly: true });
    expect(mounts).toContainEqual({ source: './mosquitto/certs', target: '/mosquitto/certs', readOnly: true });
    expect(m.ports).toEqual(['8883:8883']);
    const conf = read('docker/mosquitto/mosquitto.conf');
    for (const p of conf.match(/\/mosquitto\/(config|certs)\/\S+/g) ?? []) {
      expect(
        mounts.some((x) => p.startsWith(x.target + '/')),
        p,
      ).toBe(true);
    }
  });

  it("gives Mosquitto an open-files limit above its listeners' connection caps", () => {
    const caps = [...read('docker/mosquitto/mosquitto.conf').matchAll(/^max_connections (\d+)$/gm)].map((m) =>
      Number(m[1]),
    );
    expect(caps.length).toBeGreaterThan(0);
    const total = caps.reduce((a, b) => a + b, 0);
    const nofile = (c.services.mosquitto as Service).ulimits?.nofile;
    // Room beyond the caps for the listening sockets, persistence, logs and connections not yet
    // counted (Mosquitto counts a client once it is accepted).
    expect(nofile?.soft).toBeGreaterThanOrEqual(total + 1024);
    expect(nofile?.hard).toBeGreaterThanOrEqual(nofile?.soft ?? 0);
  });

  it('scales the ingester: several replicas on one shared subscription, each with its own client id', () => {
    const i = c.services.ingester as Service;
    expect(i.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(i.environment?.EDGE_TELEMETRY_INGESTER_MQTT_SHARED_GROUP).toBe('ingest');
    expect(i.environment?.EDGE_TELEMETRY_INGESTER_MQTT_USERNAME).toBe('ingester');
    expect(i.environment?.MQTT_URL).toBe('mqtt://mosquitto:1883');
    expect(i.environment?.CLICKHOUSE_URL).toMatch(
      /^http:\/\/\w+:\$\{CLICKHOUSE_PASSWORD:\?[^}]*\}@clickhouse:8123\/edge_telemetry$/,
    );
    expect(i.entrypoint?.join(' ')).toMatch(
      /EDGE_TELEMETRY_INGESTER_MQTT_CLIENT_ID="et-ingester-\$\$\(hostname\)" exec node packages\/ingester\/bin\/ingester\.js/,
    );
    // One host port per replica, or the second replica could not start.
    const range = /^\$\{\w+:-(\d+)-(\d+)\}:8080$/.exec(i.ports?.[0] ?? '');
    expect(Number(range?.[2]) - Number(range?.[1]) + 1).toBe(i.deploy?.replicas);
  });

  it('provisions Grafana with the ClickHouse data source plugin (pinned) and a dashboards folder', () => {
    const g = c.services.grafana as Service;
    expect(g.environment?.GF_PLUGINS_PREINSTALL_SYNC).toMatch(/^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/);
    const mounts = (g.volumes ?? []).map(parseVolume);
    expect(mounts).toContainEqual({
      source: './grafana/provisioning',
      target: '/etc/grafana/provisioning',
      readOnly: true,
    });
    const ds = parse(read('docker/grafana/provisioning/datasources/clickhouse.yml')) as {
      datasources: {
        type: string;
        uid: string;
        jsonData: { host: string; defaultDatabase: string; username: string };
      }[];
    };
    expect(ds.datasources[0]).toMatchObject({
      type: 'grafana-clickhouse-datasource',
      uid: 'clickhouse',
      jsonData: { host: 'clickhouse', defaultDatabase: 'edge_telemetry', username: 'grafana' },
    });
    const prov = parse(read('docker/grafana/provisioning/dashboards/edge-telemetry.yml')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const dashPath = prov.providers[0]?.options.path ?? '';
    const dashMount = mounts.find((m) => m.target === dashPath);
    expect(dashMount?.readOnly).toBe(true);
    expect(existsSync(path.join(dockerDir, dashMount?.source ?? 'missing'))).toBe(true);
    // The read-only ClickHouse account Grafana uses exists, with its password from the same variable.
    const users = read('docker/clickhouse/users.d/grafana.xml');
    expect(users).toMatch(/<grafana>[\s\S]*<password from_env="CLICKHOUSE_GRAFANA_PASSWORD" \/>/);
    expect(users).toMatch(/<readonly>[12]<\/readonly>/);
    expect(c.services.clickhouse?.environment?.CLICKHOUSE_GRAFANA_PASSWORD).toBe(
      g.environment?.CLICKHOUSE_GRAFANA_PASSWORD,
    );
  });
});
