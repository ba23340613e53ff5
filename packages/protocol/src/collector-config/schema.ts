/**
 * The collector's whole configuration: one schema composed of each stage's own options, listed in
 * the collector's README from here. It lives in protocol because both ends validate against it:
 * the collector at start-up and when it applies a remote document, the ingester before it stores
 * a configuration document (a document the nodes would refuse is refused at the center).
 */
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { NODE_ID_PATTERN } from '../topics/topics.js';
import type { ConfigSpec } from '../config/resolve-config.js';
import { DownsampleOptionsSchema } from './downsample.js';
import { HostSourceOptionsSchema } from './host-source.js';
import { CgroupSourceOptionsSchema } from './cgroup-source.js';
import { DockerSourceOptionsSchema } from './docker-source.js';
import { PrometheusSourceOptionsSchema } from './prometheus-source.js';
import { OTLP_VALUE_BYTES, OtlpReceiverOptionsSchema } from './otlp-receiver.js';
import { SpanSummaryOptionsSchema } from './spans.js';
import { LogFileSourceOptionsSchema } from './logfiles-source.js';
import { LogPipelineOptionsSchema } from './logs.js';
import { LogStoreOptionsSchema } from './store.js';
import { OutboxOptionsSchema } from './outbox.js';
import { MqttOptionsSchema } from './mqtt.js';
import { BudgetOptionsSchema } from './budget.js';
import { SenderOptionsSchema } from './sender.js';
import { PullOptionsSchema } from './pull.js';
import { MemoryOptionsSchema } from './memory.js';

/** A stage's options with an `enabled` switch and without the paths the collector derives from dataDir. */
function stage<T extends TObject, K extends keyof T['properties'] & string>(
  schema: T,
  enabled: boolean,
  derived: K[],
  what: string,
) {
  return Type.Composite([
    Type.Object({ enabled: Type.Boolean({ default: enabled, description: `Turn the ${what} on or off.` }) }),
    Type.Omit(schema, derived),
  ]);
}

export const CollectorConfigSchema = Type.Object({
  node: Type.String({
    pattern: NODE_ID_PATTERN.source,
    description:
      "This gateway's node id: letters, digits, `_.-`, at most 64; it is the MQTT topic level and the broker user. Default: the host name.",
  }),
  labels: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.String({ maxLength: 256 }), {
    default: {},
    description:
      'Labels of this gateway (e.g. {"site": "berlin", "region": "eu"}), said in its status: configuration groups of the fleet select nodes by them.',
  }),
  dataDir: Type.String({
    minLength: 1,
    default: '/var/lib/edge-telemetry',
    description: 'The one writable volume: outbox (with the log reading positions), full-log store.',
  }),
  scrapeIntervalMs: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'How often metric sources are read (ms).',
  }),
  downsample: DownsampleOptionsSchema,
  http: Type.Object({
    host: Type.String({
      default: '127.0.0.1',
      description:
        'Address of the /healthz and /metrics (Prometheus) listener; 0.0.0.0 to let a Prometheus elsewhere scrape it.',
    }),
    port: Type.Integer({
      minimum: -1,
      maximum: 65535,
      default: 9464,
      description: 'Port of that listener; 0 = any free port, -1 = no listener.',
    }),
  }),
  sources: Type.Object({
    host: stage(HostSourceOptionsSchema, true, ['dataDir'], 'host metrics source (/proc, statfs of dataDir)'),
    cgroup: stage(CgroupSourceOptionsSchema, true, [], 'cgroup v1/v2 container metrics source'),
    docker: stage(DockerSourceOptionsSchema, false, [], 'Docker Engine API source (metrics and lifecycle events)'),
    prometheus: stage(
      PrometheusSourceOptionsSchema,
      false,
      [],
      'Prometheus scrape source (static targets and containers labelled prometheus.io/scrape)',
    ),
    otlp: stage(
      OtlpReceiverOptionsSchema,
      false,
      [],
      "OTLP receiver (applications' metrics, logs and traces over OTLP/HTTP, protobuf or JSON, and optionally OTLP/gRPC)",
    ),
    logFiles: stage(LogFileSourceOptionsSchema, false, [], 'json-file and CRI log file source'),
    demo: Type.Object({
      containers: Type.Integer({
        minimum: 0,
        maximum: 500,
        default: 0,
        description: 'Simulated containers (metrics shaped by real NAB series, generated logs); 0 = off.',
      }),
    }),
  }),
  logs: LogPipelineOptionsSchema,
  spans: SpanSummaryOptionsSchema,
  store: stage(LogStoreOptionsSchema, true, ['dir'], 'local full-log store'),
  uplink: Type.Object({
    mqtt: MqttOptionsSchema,
    outbox: Type.Omit(OutboxOptionsSchema, ['dir']),
    budget: BudgetOptionsSchema,
    sender: SenderOptionsSchema,
  }),
  pull: Type.Object(PullOptionsSchema.properties, { default: {} }),
  memory: MemoryOptionsSchema,
  remoteConfig: Type.Object(
    {
      revertAfterMs: Type.Integer({
        minimum: 0,
        default: 600_000,
        description:
          'After applying a remote configuration change, the node goes back to its previous configuration on its own when the center acknowledges nothing for this long (the change may have cut its uplink); 0: never. Set only in the local file.',
      }),
      failedStartsBeforeRevert: Type.Integer({
        minimum: 1,
        default: 3,
        description:
          'A remote configuration change whose options take effect at the next start goes back to what last started when this many starts in a row fail with it (1: at the first; more let a passing failure, such as the previous process still holding a port during a restart, not condemn the change). Set only in the local file.',
      }),
    },
    { default: {} },
  ),
});

export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export const collectorConfigSpec: ConfigSpec<typeof CollectorConfigSchema> = {
  schema: CollectorConfigSchema,
  envPrefix: 'EDGE_TELEMETRY_COLLECTOR_',
  aliases: { MQTT_URL: 'uplink.mqtt.url', EDGE_TELEMETRY_NODE: 'node' },
  check: (c) => {
    const problems: string[] = [];
    if (c.downsample.windowMs % c.scrapeIntervalMs !== 0) {
      problems.push(
        `downsample.windowMs (${c.downsample.windowMs}) must be a multiple of scrapeIntervalMs (${c.scrapeIntervalMs}); fix: change one of them`,
      );
    }
    problems.push(...prometheusProblems(c), ...patternProblems(c));
    if (c.sources.otlp.maxConnectionsPerAddress > c.sources.otlp.maxConnections)
      problems.push(
        `sources.otlp.maxConnectionsPerAddress (${c.sources.otlp.maxConnectionsPerAddress}) must be <= sources.otlp.maxConnections (${c.sources.otlp.maxConnections}); fix: lower maxConnectionsPerAddress or raise maxConnections`,
      );
    problems.push(...otlpBudgetProblems(c));
    if (c.uplink.mqtt.reconnectMaxMs < c.uplink.mqtt.reconnectMinMs)
      problems.push('uplink.mqtt.reconnectMaxMs must be >= reconnectMinMs; fix: raise reconnectMaxMs');
    return problems;
  },
};

/**
 * A lone OTLP request of `maxDecodedValues` values with a small body fits the in-flight budget it is
 * charged against (decoded values at OTLP_VALUE_BYTES.protobuf, the larger; `maxDecodedBytes` once).
 * Not every request within the limits: the receiver also charges the body as sent and inflated, a
 * copy when chunked and its strings copied out (twice when wide), so many values beside megabytes
 * of strings can still get 413 over maxInFlightBytes; the check only rules out the plain case.
 * The defaults did not: 100,000 values x 192 B is over 16 MiB alone, so an export of 85,000 to
 * 100,000 values was within maxDecodedValues and refused 413 (not retryable) by maxInFlightBytes.
 */
function otlpBudgetProblems(c: CollectorConfig): string[] {
  const o = c.sources.otlp;
  const need = o.maxDecodedValues * OTLP_VALUE_BYTES.protobuf + o.maxDecodedBytes;
  if (need <= o.maxInFlightBytes) return [];
  const most = Math.max(0, Math.floor((o.maxInFlightBytes - o.maxDecodedBytes) / OTLP_VALUE_BYTES.protobuf));
  return [
    `sources.otlp.maxDecodedValues (${o.maxDecodedValues}) x ${OTLP_VALUE_BYTES.protobuf} B a decoded value + sources.otlp.maxDecodedBytes (${o.maxDecodedBytes}) must fit sources.otlp.maxInFlightBytes (${o.maxInFlightBytes}): a request of maxDecodedValues values would be refused by maxInFlightBytes; fix: lower maxDecodedValues to at most ${most}, lower maxDecodedBytes or raise maxInFlightBytes to at least ${need}`,
  ];
}

/** Target intervals ride on the collector's tick, so each is a multiple of it. */
function prometheusProblems(c: CollectorConfig): string[] {
  const p = c.sources.prometheus;
  const out: string[] = [];
  const check = (what: string, ms: number | undefined) => {
    if (ms && ms % c.scrapeIntervalMs !== 0)
      out.push(
        `${what} (${ms}) must be a multiple of scrapeIntervalMs (${c.scrapeIntervalMs}); fix: change one of them`,
      );
  };
  check('sources.prometheus.intervalMs', p.intervalMs);
  p.static.forEach((t, i) => check(`sources.prometheus.static[${i}].intervalMs`, t.intervalMs));
  return out;
}

/**
 * Every regular expression of the options compiles. Filters were compiled at a container's
 * first line, where a wrong one (a local typo, or a remote `config set` to the whole fleet)
 * silently stopped that container's log path: no error, no line shipped; the host source's
 * interface pattern was compiled as the source was built, a bare SyntaxError naming no option.
 */
export function patternProblems(c: CollectorConfig): string[] {
  const out: string[] = [];
  const check = (where: string, source: string, flags = '') => {
    try {
      new RegExp(source, flags);
    } catch (err) {
      out.push(`${where} (${JSON.stringify(source)}): ${(err as Error).message}; fix: correct or remove the pattern`);
    }
  };
  const filters = [
    ['logs.defaults.filter', c.logs.defaults.filter] as const,
    ...c.logs.containers.map((o, i) => [`logs.containers[${i}].settings.filter`, o.settings.filter ?? {}] as const),
  ];
  for (const [where, f] of filters)
    for (const key of ['include', 'exclude'] as const)
      (f[key] ?? []).forEach((source, i) => check(`${where}.${key}[${i}]`, source));
  c.logs.redact.patterns.forEach((p, i) =>
    check(`logs.redact.patterns[${i}].pattern`, p.pattern, p.flags.replace('g', '')),
  );
  check('sources.host.excludeInterfaces', c.sources.host.excludeInterfaces);
  return out;
}
