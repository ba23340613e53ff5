import { Type, type Static } from '@sinclair/typebox';

export const StaticTargetSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'http(s) URL of the metrics endpoint.' }),
    container: Type.Optional(Type.String({ description: "Container the series belong to ('' = the host)." })),
    job: Type.Optional(Type.String({ minLength: 1, description: "The series' `job` attribute (default `static`)." })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Scrape interval (ms); 0 = intervalMs.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, description: 'Scrape timeout (ms).' })),
  },
  { additionalProperties: false },
);
export type StaticTarget = Static<typeof StaticTargetSchema>;

export const PrometheusSourceOptionsSchema = Type.Object({
  static: Type.Array(StaticTargetSchema, {
    default: [],
    description:
      'Targets scraped whatever runs, as [{"url", "container", "job", "intervalMs", "timeoutMs"}]; only url is required.',
  }),
  dockerLabels: Type.Boolean({
    default: true,
    description:
      'Scrape containers labelled `prometheus.io/scrape=true` (port from `prometheus.io/port`, path from `prometheus.io/path`, scheme from `prometheus.io/scheme`), found through the Docker source (sources.docker.enabled).',
  }),
  dockerHostAddress: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'Address of a labelled container that has no IP of its own (host network mode).',
  }),
  intervalMs: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Default scrape interval (ms) of a target, a multiple of scrapeIntervalMs; 0 = scrapeIntervalMs.',
  }),
  timeoutMs: Type.Integer({
    minimum: 100,
    default: 5000,
    description:
      'Default whole-scrape deadline (ms): a target that has not sent its whole body by then is down for that scrape; at most its interval.',
  }),
  maxBodyBytes: Type.Integer({
    minimum: 1024,
    default: 4 * 1024 * 1024,
    description:
      "Largest body read from a target (bytes, after gzip); a larger one fails the scrape (the node exporter's is about 60 KB).",
  }),
  maxLineBytes: Type.Integer({
    minimum: 256,
    default: 65536,
    description: 'Longest exposition line read; a longer one is skipped and counted, never held.',
  }),
  maxSeries: Type.Integer({
    minimum: 1,
    default: 2000,
    description: 'Series kept per target and scrape (the first ones in the body); the rest are dropped and counted.',
  }),
  maxSeriesTotal: Type.Integer({
    minimum: 1,
    default: 6000,
    description:
      "Most series all targets together may hold in the downsampler (within `downsample.maxSeries`); new series beyond it are dropped and counted (`metrics.cardinality`/`source_series_cap`), so that containers' exporters cannot take the series of the containers' own metrics: five targets of 2,000 held all 10,000 and containers started later got none.",
  }),
  maxLabels: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 30,
    description: 'Labels a series may have; a series with more is dropped and counted.',
  }),
  maxLabelValueLength: Type.Integer({
    minimum: 1,
    default: 256,
    description: 'Longest label value (characters); a series with a longer one is dropped and counted.',
  }),
  maxTargets: Type.Integer({
    minimum: 1,
    default: 100,
    description:
      'Targets scraped at most; further ones (static first, then containers by name) are left out and counted.',
  }),
  concurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 4,
    description:
      'Target scrapes in flight at once in each of two lanes: the targets that answered their last scrape, and those that failed it (down, or stalled to their timeout), so that failing targets cannot hold the slots of those that answer.',
  }),
});

export type PrometheusSourceOptions = Static<typeof PrometheusSourceOptionsSchema>;
