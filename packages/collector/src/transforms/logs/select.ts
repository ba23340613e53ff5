import type { ContainerInfo } from '@edge-telemetry/protocol';
import type { ContainerLogSettings, ContainerOverride } from './options.js';

/** Resolves one container's settings: the defaults, then each matching override in order. */
export function settingsFor(
  container: Pick<ContainerInfo, 'name' | 'image' | 'labels'>,
  defaults: ContainerLogSettings,
  overrides: readonly ContainerOverride[],
): ContainerLogSettings {
  let s = defaults;
  for (const o of overrides) {
    if (!matches(o, container)) continue;
    s = {
      filter: { ...s.filter, ...o.settings.filter },
      throttle: { ...s.throttle, ...o.settings.throttle },
      dedup: { ...s.dedup, ...o.settings.dedup },
      verbatimLevel: o.settings.verbatimLevel ?? s.verbatimLevel,
    };
  }
  return s;
}

function matches(o: ContainerOverride, c: Pick<ContainerInfo, 'name' | 'image' | 'labels'>): boolean {
  if (o.name !== undefined && !glob(o.name).test(c.name)) return false;
  if (o.image !== undefined && !glob(o.image).test(c.image)) return false;
  if (o.labels !== undefined) for (const [k, v] of Object.entries(o.labels)) if (c.labels[k] !== v) return false;
  return true;
}

/** A name glob: `*` stands for any run of characters, everything else for itself. */
export function glob(pattern: string): RegExp {
  return new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
}
