/**
 * Config = defaults < JSON file (`--config path`) < environment. Validated once at start-up; an
 * invalid option stops the process with the option's name, its env variable and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { Kind, KindGuard, type TSchema, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { IngesterError } from '../errors.js';
import { IngesterConfigSchema, type IngesterConfig } from './options.js';

export const ENV_PREFIX = 'EDGE_TELEMETRY_INGESTER_';

/** Well-known variables shared with other tools: they win over the prefixed ones. */
const ALIASES: Record<string, string> = { CLICKHOUSE_URL: 'clickhouse.url', MQTT_URL: 'mqtt.url' };

interface Leaf {
  path: string[];
  schema: TSchema;
}

function leaves(schema: TObject, prefix: string[] = []): Leaf[] {
  return Object.entries(schema.properties).flatMap(([key, sub]): Leaf[] =>
    sub[Kind] === 'Object' ? leaves(sub as TObject, [...prefix, key]) : [{ path: [...prefix, key], schema: sub }],
  );
}

/** `writer.flushRows` -> `EDGE_TELEMETRY_INGESTER_WRITER_FLUSH_ROWS`. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every option with its env variable, default and description (for the README and --help). */
export function describeOptions(): { option: string; env: string; default: unknown; description: string }[] {
  return leaves(IngesterConfigSchema).map((l) => ({
    option: l.path.join('.'),
    env: envName(l.path),
    default: (l.schema as { default?: unknown }).default,
    description: String((l.schema as { description?: string }).description ?? ''),
  }));
}

function isNumeric(schema: TSchema): boolean {
  if (KindGuard.IsInteger(schema) || KindGuard.IsNumber(schema)) return true;
  return KindGuard.IsUnion(schema) && schema.anyOf.every((s) => KindGuard.IsLiteral(s) && typeof s.const === 'number');
}

function envValue(raw: string, schema: TSchema): unknown {
  if (!isNumeric(schema)) return raw;
  // Keep the raw text when it is not a number so validation names the bad value.
  return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function sourceOf(path: string, fromEnv: Map<string, string>): string {
  const env = fromEnv.get(path);
  return env ? `env ${env}` : `config file key "${path}" or env ${envName(path.split('.'))}`;
}

/** Pure: merges file contents and environment over the defaults and validates the result. */
export function resolveConfig(file: unknown, env: Readonly<Record<string, string | undefined>>): IngesterConfig {
  if (file !== undefined && (typeof file !== 'object' || file === null || Array.isArray(file))) {
    throw new IngesterError('ET_ERR_CONFIG_FILE', 'the config file must hold a JSON object');
  }
  const merged = structuredClone((file ?? {}) as Record<string, unknown>);
  const fromEnv = new Map<string, string>();
  const byPath = new Map(leaves(IngesterConfigSchema).map((l) => [l.path.join('.'), l]));
  for (const leaf of byPath.values()) {
    const raw = env[envName(leaf.path)];
    if (raw !== undefined && raw !== '') {
      setPath(merged, leaf.path, envValue(raw, leaf.schema));
      fromEnv.set(leaf.path.join('.'), envName(leaf.path));
    }
  }
  for (const [name, path] of Object.entries(ALIASES)) {
    const raw = env[name];
    const leaf = byPath.get(path);
    if (raw !== undefined && raw !== '' && leaf) {
      setPath(merged, leaf.path, envValue(raw, leaf.schema));
      fromEnv.set(path, name);
    }
  }
  const withDefaults = Value.Default(IngesterConfigSchema, merged);
  const problems = [...Value.Errors(IngesterConfigSchema, withDefaults)].map((e) => {
    const path = e.path.replace(/^\//, '').replace(/\//g, '.');
    const leaf = byPath.get(path);
    const hint = leaf ? ` Fix ${sourceOf(path, fromEnv)}: ${String((leaf.schema as { description?: string }).description ?? '')}` : ' Remove or rename this key.';
    return `${path || '(root)'}: ${e.message}, got ${JSON.stringify(e.value)}.${hint}`;
  });
  if (problems.length > 0) throw new IngesterError('ET_ERR_CONFIG_INVALID', problems.join('\n'));
  const cfg = withDefaults as IngesterConfig;
  if (cfg.clickhouse.cluster !== undefined && cfg.clickhouse.url === undefined) {
    throw new IngesterError('ET_ERR_CONFIG_INVALID', 'clickhouse.cluster needs clickhouse.url (CLICKHOUSE_URL): the embedded engine is a single server.');
  }
  if (cfg.writer.retryMinMs > cfg.writer.retryMaxMs) {
    throw new IngesterError('ET_ERR_CONFIG_INVALID', `writer.retryMinMs (${cfg.writer.retryMinMs}) must not exceed writer.retryMaxMs (${cfg.writer.retryMaxMs}).`);
  }
  return cfg;
}

/** `--config path` from argv, if given. */
export function configPathFromArgv(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  if (i >= 0) {
    const p = argv[i + 1];
    if (!p || p.startsWith('--')) throw new IngesterError('ET_ERR_CONFIG_FILE', '--config needs a path: --config ./ingester.json');
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
