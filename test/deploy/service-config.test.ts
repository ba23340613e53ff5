/**
 * The deployment files configure the services through environment variables; a misspelt name
 * is silently ignored by a config loader. So every variable the files set must be an option the
 * service's own loader knows, and the files' settings must load through that loader.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { captureIo } from '../support/io.js';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOptions } from '@edge-telemetry/protocol';
import { collectorConfigSpec, loadCollectorConfig } from '@edge-telemetry/collector';
import {
  describeOptions as describeIngesterOptions,
  ingesterConfigSpec,
  loadConfig as loadIngesterConfig,
} from '../../packages/ingester/src/config/load.js';
import { runNodesAdd } from '../../packages/cli/src/commands/nodes-add.js';
import { instructions } from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFile(path.join(root, p), 'utf8');

/** Set by the files for a collector option that does not exist yet; each says what it waits for. */
const PENDING: Record<string, string> = {
  EDGE_TELEMETRY_COLLECTOR_HTTP_PORT:
    'the collector has no HTTP listener yet: /healthz and /metrics on this port are issue 9 (Prometheus) work',
};

const collectorEnv = new Set([
  ...describeOptions(collectorConfigSpec).map((o) => o.env),
  ...Object.keys(collectorConfigSpec.aliases ?? {}),
]);
const ingesterEnv = new Set([
  ...describeIngesterOptions().map((o) => o.env),
  ...Object.keys(ingesterConfigSpec.aliases ?? {}),
]);

/** Compose interpolation with sample values for the required variables (`${X:?msg}`, `${X:-d}`, `${X}`, `$$`). */
function interpolate(value: string, vars: Record<string, string>): string {
  return value
    .replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_, name: string) => vars[name] ?? `sample-${name.toLowerCase()}`)
    .replaceAll('$$', '$');
}

interface ComposeService {
  environment?: Record<string, string>;
  entrypoint?: string[];
  deploy?: { resources?: { limits?: { memory?: string } } };
}
interface K8sContainer {
  name?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  args?: string[];
  resources?: { limits?: { memory?: string } };
}

/** A Compose (`128M`) or Kubernetes (`128Mi`) memory quantity in bytes; binary units only. */
function memoryBytes(q: string | undefined): number {
  const m = /^(\d+)(Ki?|Mi?|Gi?)$/.exec(q ?? '');
  if (!m) throw new Error(`memory limit ${q} is not a binary quantity`);
  return Number(m[1]) * 1024 ** ('KMG'.indexOf((m[2] as string)[0] as string) + 1);
}

let dir: string;
let nodeJson: string;
let nodeEnv: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-service-config-'));
  const add = async (format: string) => {
    const c = captureIo();
    expect(
      await runNodesAdd(
        [
          'gw-deploy',
          '--password-file',
          path.join(dir, 'passwd'),
          '--broker',
          'mqtts://broker.example:8883',
          '--format',
          format,
        ],
        c.io,
      ),
    ).toBe(0);
    return c.out();
  };
  nodeJson = path.join(dir, 'collector.json');
  await writeFile(nodeJson, await add('json'));
  nodeEnv = Object.fromEntries(
    (await add('env'))
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('collector settings in the deployment files', () => {
  it('name only options the collector knows', async () => {
    const edge = (parse(await read('docker/compose.edge.yml')) as { services: Record<string, ComposeService> }).services
      .collector;
    const k8s = parseAllDocuments(await read('docker/k8s/collector-daemonset.yaml')).map(
      (d) => d.toJSON() as { kind: string; spec?: { template: { spec: { containers: K8sContainer[] } } } },
    );
    const ds = k8s.find((d) => d.kind === 'DaemonSet')?.spec?.template.spec.containers[0];
    const image = instructions(await read('docker/collector.Dockerfile'))
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1] as string));
    const names = [...Object.keys(edge?.environment ?? {}), ...(ds?.env ?? []).map((e) => e.name), ...image].filter(
      (n) => n.startsWith('EDGE_TELEMETRY_COLLECTOR_'),
    );
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !collectorEnv.has(n) && !(n in PENDING))).toEqual([]);
  });

  it('load through the collector config loader: compose with the env file `nodes add` prints', async () => {
    const edge = parse(await read('docker/compose.edge.yml')) as { services: Record<string, ComposeService> };
    const env = Object.fromEntries(
      Object.entries(edge.services.collector?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), nodeEnv)]),
    );
    const cfg = loadCollectorConfig([], env);
    expect(cfg.node).toBe('gw-deploy');
    expect(cfg.dataDir).toBe('/data');
    expect(cfg.sources.docker).toMatchObject({ enabled: true, socketPath: '/var/run/docker.sock' });
    expect(cfg.sources.logFiles).toMatchObject({ enabled: true, dockerRoot: '/var/lib/docker/containers' });
    expect(cfg.uplink.mqtt).toMatchObject({
      url: 'mqtts://broker.example:8883',
      username: 'gw-deploy',
      clientId: 'gw-deploy',
      tls: { ca: '/etc/edge-telemetry/ca.crt' },
    });
  });

  it('load through the collector config loader: the DaemonSet with the node file `nodes add` prints', async () => {
    const docs = parseAllDocuments(await read('docker/k8s/collector-daemonset.yaml')).map(
      (d) => d.toJSON() as { kind: string; spec?: { template: { spec: { containers: K8sContainer[] } } } },
    );
    const c = docs.find((d) => d.kind === 'DaemonSet')?.spec?.template.spec.containers[0];
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
    expect(c?.args?.[0]).toBe('--config');
    const cfg = loadCollectorConfig(['--config', nodeJson], env);
    expect(cfg.node).toBe('gw-deploy');
    expect(cfg.sources.logFiles).toMatchObject({ enabled: true, podsRoot: '/var/log/pods' });
    expect(cfg.sources.docker.enabled).toBe(false);
  });
});

describe('memory limit in the deployment files', () => {
  it('give the collector the limit they set, once, and leave node flags to the image (launch.sh)', async () => {
    const edge = (parse(await read('docker/compose.edge.yml')) as { services: Record<string, ComposeService> }).services
      .collector;
    const ds = parseAllDocuments(await read('docker/k8s/collector-daemonset.yaml'))
      .map((d) => d.toJSON() as { kind: string; spec?: { template: { spec: { containers: K8sContainer[] } } } })
      .find((d) => d.kind === 'DaemonSet')?.spec?.template.spec.containers[0];
    const composeLimit = memoryBytes(edge?.deploy?.resources?.limits?.memory);
    expect(composeLimit).toBe(128 * 2 ** 20);
    expect(Number(edge?.environment?.EDGE_TELEMETRY_COLLECTOR_MEMORY_LIMIT_BYTES)).toBe(composeLimit);
    // The DaemonSet's comes from its own resources.limits (downward API), so it cannot disagree.
    expect(ds?.env?.find((e) => e.name === 'EDGE_TELEMETRY_COLLECTOR_MEMORY_LIMIT_BYTES')?.valueFrom).toEqual({
      resourceFieldRef: { containerName: ds?.name, resource: 'limits.memory', divisor: '1' },
    });
    expect(memoryBytes(ds?.resources?.limits?.memory)).toBe(128 * 2 ** 20);
    expect(edge?.environment?.NODE_OPTIONS).toBeUndefined();
    expect(ds?.env?.some((e) => e.name === 'NODE_OPTIONS')).toBe(false);
  });
});

describe('ingester settings in compose.central.yml', () => {
  it('name only options the ingester knows, and load through its config loader', async () => {
    const central = parse(await read('docker/compose.central.yml')) as { services: Record<string, ComposeService> };
    const ing = central.services.ingester;
    const envNames = Object.keys(ing?.environment ?? {});
    const fromEntrypoint = [...(ing?.entrypoint?.join(' ') ?? '').matchAll(/(EDGE_TELEMETRY_INGESTER_\w+)=/g)].map(
      (m) => m[1] as string,
    );
    expect([...envNames, ...fromEntrypoint].filter((n) => !ingesterEnv.has(n))).toEqual([]);
    const env = Object.fromEntries(
      Object.entries(ing?.environment ?? {}).map(([k, v]) => [
        k,
        interpolate(String(v), { CLICKHOUSE_PASSWORD: 'pw' }),
      ]),
    );
    const cfg = loadIngesterConfig([], { ...env, EDGE_TELEMETRY_INGESTER_MQTT_CLIENT_ID: 'et-ingester-abc123' });
    expect(cfg.mqtt).toMatchObject({
      url: 'mqtt://mosquitto:1883',
      username: 'ingester',
      sharedGroup: 'ingest',
      protocolVersion: 5,
      clientId: 'et-ingester-abc123',
    });
    expect(cfg.clickhouse.url).toBe('http://edge_telemetry:pw@clickhouse:8123/edge_telemetry');
    expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
    // Both replicas get the one token the operator set (a token made per replica works on that one only).
    expect(cfg.auth.adminToken).toBe('sample-edge_telemetry_admin_token');
  });
});
