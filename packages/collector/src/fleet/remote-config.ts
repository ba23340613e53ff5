/**
 * A remote configuration document over the node's own configuration: pure functions. The
 * document's `options` are a deep-partial collector configuration applied over the local file and
 * environment (precedence: remote > local), validated against the same schema as at start-up, so
 * a refusal names the option. Only the per-container log settings change a running collector; any
 * other option takes effect at the next start, and is listed as needing one.
 */
import {
  ConfigError,
  configHash,
  isUnder,
  leafPaths,
  localOnlyProblems,
  resolveConfig,
  RUNTIME_OPTIONS,
} from '@edge-telemetry/protocol';
import { collectorConfigSpec, type CollectorConfig } from '../config/options.js';

export type RemoteApplied =
  { ok: true; config: CollectorConfig; restartNeeded: string[] } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(v: unknown, path: string): unknown {
  let cur = v;
  for (const k of path.split('.')) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

// A problem's fix is for whoever wrote the document; the node's status names the option and what is wrong.
const withoutFix = (problem: string) => problem.replace(/; fix.*$/, '');

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
  const forbidden = localOnlyProblems(options);
  if (forbidden.length > 0) return { ok: false, reason: forbidden.map(withoutFix).join('; ') };
  let config: CollectorConfig;
  try {
    config = resolveConfig(collectorConfigSpec, {
      file: structuredClone(local),
      env: {},
      overrides: structuredClone(options),
    });
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, reason: err.problems.map(withoutFix).join('; ') };
    throw err;
  }
  const restartNeeded = leafPaths(config as unknown as Record<string, unknown>)
    .filter(
      (p) =>
        !RUNTIME_OPTIONS.some((r) => isUnder(p, r)) &&
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
