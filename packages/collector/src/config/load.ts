import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError, resolveConfig } from '@edge-telemetry/protocol';
import { collectorConfigSpec, type CollectorConfig } from './options.js';

/** A node id derived from the host name, for when none is configured. */
export function defaultNodeId(hostname = os.hostname()): string {
  return (
    hostname
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'node'
  );
}

/** `--config path` or `--config=path` (optional) + environment; the node id defaults to the host name. */
export function loadCollectorConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CollectorConfig {
  const i = argv.indexOf('--config');
  const inline = argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
  const file = i >= 0 ? argv[i + 1] : inline;
  if (i >= 0 && (!file || file.startsWith('--')))
    throw new ConfigError(['--config needs a path; fix: --config ./collector.json']);
  // An argument it does not know (a typo) was ignored, and the collector ran on
  // its defaults as if nothing had been said.
  const unknown = argv.filter((a, j) => !(i >= 0 && (j === i || j === i + 1)) && !a.startsWith('--config='));
  if (unknown.length > 0)
    throw new ConfigError([
      `unknown argument ${JSON.stringify(unknown[0])}; fix: edge-telemetry-collector [--config file.json] [--help]`,
    ]);
  let parsed: unknown;
  if (file) {
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`config file ${file}: ${(err as Error).message}; fix: pass a readable JSON file`]);
    }
  }
  const withNode = { node: defaultNodeId(), ...(parsed as Record<string, unknown> | undefined) };
  return resolveConfig(collectorConfigSpec, { file: withNode, env });
}
