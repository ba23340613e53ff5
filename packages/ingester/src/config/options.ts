/**
 * Every ingester option: one typebox schema with defaults and a description per option. The
 * config loader derives the environment variable names from it and the README table mirrors it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AuthOptions } from '../auth/options.js';

export const MqttOptions = Type.Object(
  {
    url: Type.String({
      default: 'mqtt://127.0.0.1:1883',
      description: 'Broker URL (mqtt://, mqtts://, ws://). Env MQTT_URL also sets it.',
    }),
    username: Type.Optional(Type.String({ description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ description: 'Broker password.' })),
    clientId: Type.String({
      default: 'et-ingester-1',
      minLength: 1,
      maxLength: 64,
      description:
        'Stable client id: with a persistent session (clean=false) the broker keeps messages for it while it is away. Give every ingester its own.',
    }),
    sharedGroup: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]+$',
        description:
          'Shared-subscription group ($share/<group>/...): set it to spread load over several ingesters (Mosquitto, EMQX). Unset for aedes, which has no shared subscriptions.',
      }),
    ),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], {
      default: 4,
      description: '4 = MQTT 3.1.1 (aedes and every broker), 5 = MQTT 5 (Mosquitto, EMQX).',
    }),
    keepaliveS: Type.Integer({ minimum: 5, maximum: 3600, default: 60, description: 'MQTT keepalive in seconds.' }),
    reconnectMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 1000,
      description: 'Delay before reconnecting to the broker.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ClickHouseOptions = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        description:
          'ClickHouse server URL (http://user:pass@host:8123/db). Unset = embedded chdb. Env CLICKHOUSE_URL also sets it.',
      }),
    ),
    cluster: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+$',
        description:
          'Cluster name (server only): migrations run ON CLUSTER with Replicated tables `<name>_local` and Distributed tables under the plain names, sharded by node.',
      }),
    ),
    dataDir: Type.String({
      default: './data/clickhouse',
      minLength: 1,
      description: 'Data directory of the embedded engine (used only when url is unset).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const HttpOptions = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP API listens on.' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'Port of the HTTP API (0 = any free port).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const WriterOptions = Type.Object(
  {
    flushRows: Type.Integer({
      minimum: 1,
      default: 50_000,
      description: 'Insert when this many rows are queued for one table (ClickHouse advises 10k-100k rows per insert).',
    }),
    flushBytes: Type.Integer({
      minimum: 1024,
      default: 16 * 1024 * 1024,
      description: 'Insert when the queued rows reach about this many bytes.',
    }),
    flushIntervalMs: Type.Integer({
      minimum: 10,
      default: 1000,
      description:
        'Insert at the latest this long after the oldest queued batch arrived (about one insert per second per table).',
    }),
    maxQueueBytes: Type.Integer({
      minimum: 1024,
      default: 128 * 1024 * 1024,
      description: 'Memory bound: above this the consumer stops taking messages until inserts catch up.',
    }),
    maxQueueBatches: Type.Integer({
      minimum: 1,
      default: 20_000,
      description: 'Bound on batches waiting for insert; above it the consumer stops taking messages.',
    }),
    retryMinMs: Type.Integer({
      minimum: 1,
      default: 200,
      description: 'First retry delay after a failed insert; doubles up to retryMaxMs.',
    }),
    retryMaxMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Longest retry delay after failed inserts.' }),
  },
  { additionalProperties: false, default: {} },
);

export const RetentionOptions = Type.Object(
  {
    metricsDays: Type.Integer({ minimum: 1, default: 30, description: 'Days metric summaries are kept.' }),
    rollupDays: Type.Integer({
      minimum: 1,
      default: 400,
      description: 'Days the hourly metric rollup is kept (long-range charts).',
    }),
    logsDays: Type.Integer({
      minimum: 1,
      default: 7,
      description: 'Days log events, templates and container events are kept.',
    }),
    ledgerDays: Type.Integer({
      minimum: 1,
      default: 30,
      description:
        'Days the batch ledger, node status and health rows are kept (duplicates older than this are stored again).',
    }),
    deadLetterDays: Type.Integer({ minimum: 1, default: 14, description: 'Days rejected messages are kept.' }),
    referencesDays: Type.Integer({
      minimum: 1,
      default: 7,
      description:
        'Days keyframe bodies are kept for nodes to compress against; a node offline longer sends its next batches standalone.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const IngesterConfigSchema = Type.Object(
  {
    mqtt: MqttOptions,
    clickhouse: ClickHouseOptions,
    http: HttpOptions,
    writer: WriterOptions,
    retention: RetentionOptions,
    auth: AuthOptions,
    referenceCacheMiB: Type.Integer({
      minimum: 0,
      default: 512,
      description:
        'Memory for keyframe bodies held to decode batches without asking ClickHouse; about 1.2 MiB per node at the collector defaults (4 classes x 12 references), a miss reads them from et_batch_references.',
    }),
    templateTextCacheMiB: Type.Integer({
      minimum: 0,
      default: 64,
      description:
        'Memory for the template texts nodes leave out once stored (filled back in before rows are written); about 150 B per (node, container, template), a miss reads et_log_templates.',
    }),
    /** A node counts as online when its last status said so and it was heard from within this window. */
    onlineWindowS: Type.Integer({
      minimum: 1,
      default: 300,
      description: 'A node counts as online when it said so and was heard from within this many seconds.',
    }),
    logLevel: Type.Union(
      [
        Type.Literal('debug'),
        Type.Literal('info'),
        Type.Literal('warn'),
        Type.Literal('error'),
        Type.Literal('silent'),
      ],
      { default: 'info', description: 'Log level of the JSON log on stderr.' },
    ),
  },
  { additionalProperties: false },
);

export type IngesterConfig = Static<typeof IngesterConfigSchema>;
export type WriterConfig = Static<typeof WriterOptions>;
export type RetentionConfig = Static<typeof RetentionOptions>;
