/**
 * Config = defaults < JSON file (`--config path`) < environment (EDGE_TELEMETRY_INGESTER_* derived
 * from each option's path, plus CLICKHOUSE_URL and MQTT_URL). Resolution is the shared one from the
 * protocol package; this module adds the ingester's schema, its cross-option checks and its
 * error codes.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  describeOptions as describeSpec,
  envName as envNameFor,
  resolveConfig as resolveSpec,
  type ConfigSpec,
} from '@edge-telemetry/protocol';
import { IngesterError } from '../errors.js';
import { IngesterConfigSchema, type IngesterConfig } from './options.js';

export const ENV_PREFIX = 'EDGE_TELEMETRY_INGESTER_';

export const ingesterConfigSpec: ConfigSpec<typeof IngesterConfigSchema> = {
  schema: IngesterConfigSchema,
  envPrefix: ENV_PREFIX,
  // Well-known variables shared with other tools: they win over the prefixed ones.
  aliases: { CLICKHOUSE_URL: 'clickhouse.url', MQTT_URL: 'mqtt.url', EDGE_TELEMETRY_ADMIN_TOKEN: 'auth.adminToken' },
  check: (c) =>
    c.writer.retryMinMs > c.writer.retryMaxMs
      ? [
          `writer.retryMinMs (${c.writer.retryMinMs}) must not exceed writer.retryMaxMs (${c.writer.retryMaxMs}); fix: lower retryMinMs or raise retryMaxMs`,
        ]
      : [],
};

/** `writer.flushRows` -> `EDGE_TELEMETRY_INGESTER_WRITER_FLUSH_ROWS`. */
export const envName = (path: readonly string[]): string => envNameFor(ENV_PREFIX, path);

/** Every option with its env variable, default and description (for the README and --help). */
export const describeOptions = () => describeSpec(ingesterConfigSpec);

/** Pure: merges file contents and environment over the defaults and validates the result. */
export function resolveConfig(file: unknown, env: Readonly<Record<string, string | undefined>>): IngesterConfig {
  try {
    return resolveSpec(ingesterConfigSpec, { file, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new IngesterError('ET_ERR_CONFIG_INVALID', err.problems.join('\n'));
    throw err;
  }
}

/** `--config path` from argv, if given. */
export function configPathFromArgv(argv: readonly string[]): string | undefined {
  // An argument it does not know (a typo) was ignored, and the ingester ran on its defaults.
  const i = argv.indexOf('--config');
  const unknown = argv.find((a, j) => !(i >= 0 && (j === i || j === i + 1)) && !a.startsWith('--config='));
  if (unknown !== undefined)
    throw new IngesterError(
      'ET_ERR_CONFIG_INVALID',
      `unknown argument ${JSON.stringify(unknown)}; fix: edge-telemetry-ingester [--config file.json] [--help]`,
    );
  if (i >= 0) {
    const p = argv[i + 1];
    if (!p || p.startsWith('--'))
      throw new IngesterError('ET_ERR_CONFIG_FILE', '--config needs a path: --config ./ingester.json');
    return p;
  }
  return argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
}

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): IngesterConfig {
  const path = configPathFromArgv(argv);
  let file: unknown;
  if (path !== undefined) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new IngesterError('ET_ERR_CONFIG_FILE', `${path}: ${(err as Error).message}`);
    }
  }
  return resolveConfig(file, env);
}
