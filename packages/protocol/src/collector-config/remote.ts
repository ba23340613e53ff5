/**
 * What a remote configuration document may set, checked the same way at both ends: the ingester
 * before it stores a document, the collector before it applies one. A document's `options` are a
 * deep-partial collector configuration (collectorConfigSpec); pure functions.
 */
import { ConfigError, resolveConfig } from '../config/resolve-config.js';
import { collectorConfigSpec, patternProblems } from './schema.js';

/** Options applied to a running collector without a restart (its log pipeline's reconfigure). */
export const RUNTIME_OPTIONS = ['logs.defaults', 'logs.containers'] as const;

/**
 * Options only the node's own file sets: its identity, its volume, its listener, its broker
 * account and its self-revert. The center cannot move a node's uplink elsewhere, rename it, or
 * switch off the revert that protects it from a change that cuts it off.
 */
export const LOCAL_ONLY_OPTIONS = ['node', 'dataDir', 'http', 'labels', 'uplink.mqtt', 'remoteConfig'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf paths of a plain object (arrays are leaves). */
export function leafPaths(v: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(v).flatMap(([k, sub]) =>
    isObject(sub) && Object.keys(sub).length > 0 ? leafPaths(sub, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

export const isUnder = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`);

/** The document's options only the node's local file may set, each as a problem naming it. */
export function localOnlyProblems(options: Record<string, unknown>): string[] {
  return leafPaths(options)
    .filter((p) => LOCAL_ONLY_OPTIONS.some((l) => isUnder(p, l)))
    .map((p) => `${p}: set only in the node's local configuration; fix: remove it from the document`);
}

/**
 * Why the collector's schema would refuse a document whatever the node's local file holds (empty:
 * it would not): options only the local file may set, unknown options, values of the wrong type or
 * out of range, patterns that do not compile. Each problem names the option and the fix. Checks
 * across options (a window that must be a multiple of the node's scrape interval) depend on the
 * node's own file: the node makes them when it applies, and the rollout's canaries catch a refusal
 * there. A pattern depends on nothing else: every node would refuse it, so the center does.
 */
export function remoteOptionsProblems(options: Record<string, unknown>): string[] {
  const local = localOnlyProblems(options);
  if (local.length > 0) return local;
  try {
    // The local file's required options (node id, broker URL) get stand-ins; the document cannot set them.
    const resolved = resolveConfig(
      { ...collectorConfigSpec, check: undefined },
      {
        file: { node: 'center', uplink: { mqtt: { url: 'mqtt://center' } } },
        env: {},
        overrides: structuredClone(options),
      },
    );
    // The stand-in file holds no pattern: each one named here is the document's.
    return patternProblems(resolved);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return (
      err.problems
        .filter((p) => !LOCAL_ONLY_OPTIONS.some((l) => isUnder(p.slice(0, p.indexOf(':')), l)))
        // The resolver's fix points at a file key or variable; a remote value comes from the document.
        .map((p) =>
          p.replace(
            /; fix config file key "([^"]+)" or env \S+/,
            '; fix: set options.$1 in the document to a valid value',
          ),
        )
    );
  }
}
