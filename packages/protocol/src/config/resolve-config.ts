/**
 * Configuration resolution shared by every deployable: defaults < JSON file < environment, then
 * one validation against the schema. It lives here because protocol is the one package both the
 * collector and the ingester depend on; it is pure (the caller reads the file), like the rest.
 *
 * Every option has an environment variable derived from its path (`writer.flushRows` ->
 * `<PREFIX>WRITER_FLUSH_ROWS`), so the README's option table and the code cannot drift apart.
 * Errors name the option, where its value came from, and what it expects.
 */
import { Kind, KindGuard, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from '../validate/value-error.js';
import { hidePassword } from './hide-password.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ET_ERR_CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface ConfigSpec<S extends TObject> {
  schema: S;
  /** e.g. `EDGE_TELEMETRY_COLLECTOR_`. */
  envPrefix: string;
  /** Well-known variables (CLICKHOUSE_URL) mapped to option paths; they win over the prefixed ones. */
  aliases?: Record<string, string>;
  /** Checks across options that a schema cannot express; returns problems in the same style. */
  check?: (cfg: Static<S>) => string[];
}

export interface ConfigInput {
  /** The parsed config file, if any. */
  file?: unknown;
  env: Readonly<Record<string, string | undefined>>;
  /** Applied last (command-line flags). */
  overrides?: Record<string, unknown>;
}

export interface OptionDoc {
  option: string;
  env: string;
  type: string;
  default: unknown;
  description: string;
}

interface Leaf {
  path: string[];
  schema: TSchema;
}

function leaves(schema: TObject, prefix: string[] = []): Leaf[] {
  return Object.entries(schema.properties).flatMap(([key, sub]): Leaf[] =>
    sub[Kind] === 'Object' ? leaves(sub as TObject, [...prefix, key]) : [{ path: [...prefix, key], schema: sub }],
  );
}

/** A variable counts as set when it holds text: an empty one (`X=`) leaves the file or default value in force. */
function isSet(raw: string | undefined): raw is string {
  return raw !== undefined && raw !== '';
}

export function envName(prefix: string, path: readonly string[]): string {
  return prefix + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function typeName(s: TSchema): string {
  if (KindGuard.IsUnion(s))
    return s.anyOf.map((x) => (KindGuard.IsLiteral(x) ? JSON.stringify(x.const) : typeName(x))).join(' \\| ');
  return String(s.type ?? s[Kind]).toLowerCase();
}

export function describeOptions<S extends TObject>(spec: ConfigSpec<S>): OptionDoc[] {
  return leaves(spec.schema).map((l) => ({
    option: l.path.join('.'),
    env: envName(spec.envPrefix, l.path),
    type: typeName(l.schema),
    default: l.schema.default,
    description: String(l.schema.description ?? ''),
  }));
}

/** A service bin's --help: its usage line, then every option with its environment variable and default. */
export function optionsHelp(usageLine: string, docs: readonly OptionDoc[]): string {
  const lines = [usageLine, '', 'options (file key / environment variable / default):'];
  for (const o of docs)
    lines.push(
      `  ${o.option}  ${o.env}  ${o.default === undefined ? '(unset)' : JSON.stringify(o.default)}`,
      `      ${o.description}`,
    );
  return lines.join('\n') + '\n';
}

function fromEnvText(raw: string, schema: TSchema): unknown {
  const t = raw.trim();
  const numeric =
    KindGuard.IsInteger(schema) ||
    KindGuard.IsNumber(schema) ||
    (KindGuard.IsUnion(schema) && schema.anyOf.every((s) => KindGuard.IsLiteral(s) && typeof s.const === 'number'));
  // Keep text that does not parse, so that validation names the bad value.
  if (numeric) return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : raw;
  if (KindGuard.IsBoolean(schema)) return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : raw;
  if (KindGuard.IsArray(schema) || KindGuard.IsObject(schema) || KindGuard.IsRecord(schema)) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

/** Sets `value` at `path` in `target`, making the objects on the way. */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null && !Array.isArray(next) ? next : (node[key] = {})) as Record<
      string,
      unknown
    >;
  }
  node[path[path.length - 1] as string] = value;
}

function mergeInto(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur))
      mergeInto(cur as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = v;
  }
}

/** Objects nested in the schema get `{}` so that their own defaults apply even when the file omits them. */
function fillObjects(schema: TObject, value: Record<string, unknown>): void {
  for (const [k, sub] of Object.entries(schema.properties)) {
    if (sub[Kind] !== 'Object') continue;
    const cur = value[k];
    if (cur === undefined) value[k] = {};
    if (typeof value[k] === 'object' && value[k] !== null)
      fillObjects(sub as TObject, value[k] as Record<string, unknown>);
  }
}

export function resolveConfig<S extends TObject>(spec: ConfigSpec<S>, input: ConfigInput): Static<S> {
  if (
    input.file !== undefined &&
    (typeof input.file !== 'object' || input.file === null || Array.isArray(input.file))
  ) {
    throw new ConfigError(['(config file): must hold a JSON object']);
  }
  const merged = structuredClone((input.file ?? {}) as Record<string, unknown>);
  const origin = new Map<string, string>();
  const byPath = new Map(leaves(spec.schema).map((l) => [l.path.join('.'), l]));
  const envOf = (path: readonly string[]) => envName(spec.envPrefix, path);
  // Every variable name this spec reads: any other with its prefix is a misspelling (unknownEnv).
  const knownEnv = new Set(Object.keys(spec.aliases ?? {}));
  for (const leaf of byPath.values()) {
    const name = envOf(leaf.path);
    knownEnv.add(name);
    const raw = input.env[name];
    if (!isSet(raw)) continue;
    setPath(merged, leaf.path, fromEnvText(raw, leaf.schema));
    origin.set(leaf.path.join('.'), `env ${name}`);
  }
  for (const [name, path] of Object.entries(spec.aliases ?? {})) {
    const raw = input.env[name];
    const leaf = byPath.get(path);
    if (!isSet(raw) || !leaf) continue;
    setPath(merged, leaf.path, fromEnvText(raw, leaf.schema));
    origin.set(path, `env ${name}`);
  }
  mergeInto(merged, input.overrides ?? {});
  fillObjects(spec.schema, merged);
  const withDefaults = Value.Default(spec.schema, merged) as unknown;
  // One problem per option: a missing one is also "not a string" to TypeBox, said twice.
  const firstPerPath = [...Value.Errors(spec.schema, withDefaults)].filter(
    (e, i, all) => all.findIndex((o) => o.path === e.path) === i,
  );
  const problems = firstPerPath.map((e) => {
    const path = e.path.replace(/^\//, '').replaceAll('/', '.');
    const leafPath = [...byPath.keys()].find((p) => path === p || path.startsWith(`${p}.`));
    const where =
      origin.get(leafPath ?? path) ??
      `config file key "${leafPath ?? path}" or env ${envOf((leafPath ?? path).split('.'))}`;
    const leafSchema = leafPath ? byPath.get(leafPath)?.schema : undefined;
    const desc = leafSchema?.description;
    return `${path || '(root)'}: ${valueErrorMessage(e)}, got ${shownValue(e.value, leafSchema)}; fix ${where}${desc ? ` (${desc})` : ''}`;
  });
  problems.push(
    ...unknownKeys(spec.schema, merged).map(
      (k) => `${k}: unknown option; fix: remove it or check its spelling against the README`,
    ),
    ...unknownEnv(spec.envPrefix, knownEnv, input.env),
  );
  if (problems.length) throw new ConfigError(problems);
  const cfg = withDefaults as Static<S>;
  const more = spec.check?.(cfg) ?? [];
  if (more.length) throw new ConfigError(more);
  return cfg;
}

/**
 * A refused value as the error shows it. Start-up errors go to logs that more people read than the
 * secrets: an option marked `writeOnly` (a token, a password) shows only its length, and a URL its
 * user but not its password (a mistyped CLICKHOUSE_URL holds one).
 */
function shownValue(value: unknown, schema: TSchema | undefined): string {
  if (schema?.writeOnly === true)
    return typeof value === 'string' ? `a secret of ${value.length} characters (not shown)` : typeof value;
  return hidePassword(String(JSON.stringify(value)));
}

/** A misspelt key in a config file must fail loudly rather than silently leave the default in force. */
function unknownKeys(schema: TObject, value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const sub = schema.properties[k];
    if (!sub) return [prefix + k];
    return sub[Kind] === 'Object' && v && typeof v === 'object' && !Array.isArray(v)
      ? unknownKeys(sub as TObject, v as Record<string, unknown>, `${prefix}${k}.`)
      : [];
  });
}

/**
 * Names the platform makes from a Service or link called like the service (`edge-telemetry-ingester`,
 * `edge-telemetry-collector-metrics`): Kubernetes' service links (`_SERVICE_HOST`, `_SERVICE_PORT[_name]`,
 * `_PORT[_8080_TCP[_ADDR|_PORT|_PROTO]]`, on by default in every pod of the namespace) and Docker's
 * legacy links (the same `_PORT...`, `_NAME`, `_ENV_<var>`). Not the operator's spelling: never refused.
 */
const PLATFORM_LINK =
  /(?:^|_)(?:SERVICE_HOST|SERVICE_PORT(?:_\w+)?|PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:ADDR|PORT|PROTO))?|ENV_\w+)$/;
/**
 * A bare `_PORT` or `_NAME` is also how an operator misspells an option (`..._API_PORT=9000` for
 * `..._HTTP_PORT`): let through only with the value the platform gives it, a link's address
 * (`tcp://10.0.0.7:8080`) or a Docker link's name (`/web/db`).
 */
const PLATFORM_VALUE: ReadonlyArray<[RegExp, RegExp]> = [
  [/(?:^|_)PORT$/, /^(?:tcp|udp|sctp):\/\//],
  [/(?:^|_)NAME$/, /^\//],
];
const platformMade = (rest: string, value: string): boolean =>
  PLATFORM_LINK.test(rest) || PLATFORM_VALUE.some(([name, shape]) => name.test(rest) && shape.test(value));

/**
 * A misspelt variable with this service's prefix fails as loudly as a misspelt file key: ignored,
 * it left the default in force (`..._SOURCES_DOCKR_ENABLED=true` ran without the Docker source).
 */
function unknownEnv(prefix: string, known: ReadonlySet<string>, env: ConfigInput['env']): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(prefix) && !known.has(name) && isSet(env[name]))
    .filter((name) => !platformMade(name.slice(prefix.length), env[name] as string))
    .sort()
    .map((name) => {
      const near = closest(name, known);
      return `env ${name}: not an option of this service; fix: ${near ? `rename it ${near}, or ` : ''}remove it (--help lists every option's variable)`;
    });
}

/** The known name within 3 edits of `name` (Levenshtein), the nearest first; undefined if none. */
function closest(name: string, known: ReadonlySet<string>): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d <= 3 && (best === undefined || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}
