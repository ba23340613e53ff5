/**
 * Every ingester option: one typebox schema with defaults and a description per option, composed
 * of the sections each stage owns (consumer/, writer/, storage/, auth/, quotas/). The config loader derives
 * the environment variable names from it and the README table mirrors it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AuthOptions } from '../auth/options.js';
import { MqttOptions } from '../consumer/options.js';
import { QuotaOptions } from '../quotas/options.js';
import { ReadOptions } from '../storage/read-options.js';
import { RetentionOptions } from '../storage/retention.js';
import { WriterOptions } from '../writer/options.js';

export const ClickHouseOptions = Type.Object(
  {
    url: Type.Optional(
      // Checked here: the client threw a stack trace at start for any other scheme.
      Type.String({
        pattern: '^https?://[^/]',
        description:
          'ClickHouse server URL (http://user:pass@host:8123/db or https://). Unset = embedded chdb. Env CLICKHOUSE_URL also sets it.',
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
    maxConnections: Type.Integer({
      minimum: 1,
      default: 1024,
      description:
        'Connections the API holds at once; the next is closed as it is accepted (counted in `et_ingester_http_connections_refused_total`). Each is a file descriptor of the process, which the embedded ClickHouse engine and the broker connection need too: keep it well under the open-files limit (`ulimit -n`).',
    }),
    maxConnectionsPerAddress: Type.Integer({
      minimum: 1,
      default: 128,
      description:
        'Connections the API holds at once from one client address, so that one client cannot take every connection from the others (a browser opens about 6).',
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
    quotas: QuotaOptions,
    reads: ReadOptions,
    referenceCacheMiB: Type.Integer({
      minimum: 0,
      default: 512,
      description:
        "Memory for keyframe bodies held to decode batches without asking ClickHouse; about 1.2 MiB per node at the collector defaults (4 classes x 12 references), a miss reads them from et_batch_references. With mqtt.sharedGroup each ingester reads the whole fleet's ahead (referenceFollowMs): about 1.2 MiB per node of the fleet for no misses; below that, read-ahead keyframes are dropped first (et_ingester_reference_follow_dropped_total) and read on a miss.",
    }),
    referenceFollowMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 5000,
      description:
        "With mqtt.sharedGroup: every this many ms, read the keyframe bodies and template texts stored since the last time (mostly the other ingesters') into the caches, so that batches that need them need no read of their own (a node refers only to keyframes a window old or more: keep it well under the nodes' window); the first read, at start, warms the caches up on the last 10 minutes of keyframes (up to half of referenceCacheMiB) and the last hour of texts. 0 = only read what a batch misses.",
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
