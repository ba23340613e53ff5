/**
 * A remote configuration document over the node's own configuration: pure functions. The
 * document's `options` are a deep-partial collector configuration applied over the local file and
 * environment (precedence: remote > local), validated against the same schema as at start-up, so
 * a refusal names the option. Only the per-container log settings change a running collector; any
 * other option takes effect at the next start, and is listed as needing one.
 */
import { ConfigError, configHash, resolveConfig } from '@edge-telemetry/protocol';
import { collectorConfigSpec, type CollectorConfig } from '../config/options.js';

/** Options applied to a running collector without a restart (LogPipeline.reconfigure). */
export const RUNTIME_OPTIONS = ['logs.defaults', 'logs.containers'] as const;

/**
 * Options only the node's own file sets: its identity, its volume, its listener, its broker
 * account and its self-revert. The center cannot move a node's uplink elsewhere, rename it, or
 * switch off the revert that protects it from a change that cuts it off.
 */
export const LOCAL_ONLY_OPTIONS = ['node', 'dataDir', 'http', 'labels', 'uplink.mqtt', 'remoteConfig'] as const;

export type RemoteApplied =
  { ok: true; config: CollectorConfig; restartNeeded: string[] } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf paths of a plain object (arrays are leaves). */
export function leafPaths(v: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(v).flatMap(([k, sub]) =>
    isObject(sub) && Object.keys(sub).length > 0 ? leafPaths(sub, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

function valueAt(v: unknown, path: string): unknown {
  let cur = v;
  for (const k of path.split('.')) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

/**
 * `local` (file + environment, as resolved at start-up) with the document's options over it.
 * `started`: the configuration the process was built with, against which options outside
 * RUNTIME_OPTIONS that differ need a restart.
 */
export function applyRemoteOptions(
  local: CollectorConfig,
  options: Record<string, unknown>,
  started: CollectorConfig,
): RemoteApplied {
  const paths = leafPaths(options);
  const forbidden = paths.filter((p) => LOCAL_ONLY_OPTIONS.some((l) => under(p, l)));
  if (forbidden.length > 0)
    return {
      ok: false,
      reason: forbidden.map((p) => `${p}: set only in the node's local configuration`).join('; '),
    };
  let config: CollectorConfig;
  try {
    config = resolveConfig(collectorConfigSpec, {
      file: structuredClone(local),
      env: {},
      overrides: structuredClone(options),
    });
  } catch (err) {
    if (err instanceof ConfigError)
      // The resolver's hint says where a local value came from; a remote value came from the document.
      return { ok: false, reason: err.problems.map((p) => p.replace(/; fix .*$/, '')).join('; ') };
    throw err;
  }
  const restartNeeded = leafPaths(config as unknown as Record<string, unknown>)
    .filter(
      (p) =>
        !RUNTIME_OPTIONS.some((r) => under(p, r)) &&
        JSON.stringify(valueAt(config, p)) !== JSON.stringify(valueAt(started, p)),
    )
    .sort();
  return { ok: true, config, restartNeeded };
}

/**
 * sha256 of the configuration in force without what differs by node by design (identity, broker
 * account, labels): nodes with equal hashes collect alike, so the fleet view can group them.
 */
export function effectiveHash(config: CollectorConfig): string {
  const { node: _node, labels: _labels, uplink, ...rest } = config;
  const { mqtt: _mqtt, ...uplinkRest } = uplink;
  return configHash({ ...rest, uplink: uplinkRest });
}

export interface StartingConfig {
  config: CollectorConfig;
  /** Why the persisted document no longer applies (the local file changed under it): the node starts on its local file. */
  error?: string;
}

/** The configuration to start with: the local one with the persisted document over it, when that still validates. */
export function startingConfig(local: CollectorConfig, persisted: Record<string, unknown> | undefined): StartingConfig {
  if (persisted === undefined) return { config: local };
  const r = applyRemoteOptions(local, persisted, local);
  return r.ok ? { config: r.config } : { config: local, error: `persisted remote configuration: ${r.reason}` };
}
