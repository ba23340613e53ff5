/**
 * Which targets to scrape: the static ones from configuration and the containers whose labels ask
 * for it (the `prometheus.io/*` convention). Pure: from options and a container list to targets.
 */
import type { PrometheusSourceOptions } from './options.js';

export const LABEL_SCRAPE = 'prometheus.io/scrape';
export const LABEL_PORT = 'prometheus.io/port';
export const LABEL_PATH = 'prometheus.io/path';
export const LABEL_SCHEME = 'prometheus.io/scheme';

export interface Target {
  /** Stable identity across refreshes: what a target's series and state are kept under. */
  key: string;
  url: URL;
  /** Container the series belong to ('' = the host). */
  container: string;
  job: string;
  /** host:port, the `instance` attribute. */
  instance: string;
  intervalMs: number;
  timeoutMs: number;
}

/** A container as the Docker source lists it, with the address its ports are reached at. */
export interface ListedContainer {
  name: string;
  labels: Record<string, string>;
  /** IP of the container on its first network; undefined in host network mode. */
  address: string | undefined;
}

export interface Discovery {
  targets: Target[];
  /** Targets or labels that could not be used, each with why (logged and counted by the source). */
  invalid: string[];
  /** Targets left out over maxTargets. */
  overLimit: number;
}

export function discoverTargets(
  o: PrometheusSourceOptions,
  scrapeIntervalMs: number,
  containers: readonly ListedContainer[],
): Discovery {
  const targets: Target[] = [];
  const invalid: string[] = [];
  const keys = new Set<string>();
  /** container, job and instance: what tells one target's series from another's. */
  const identities = new Map<string, string>();
  const add = (t: Target) => {
    if (keys.has(t.key)) return;
    const identity = `${t.container}\u0000${t.job}\u0000${t.instance}`;
    const first = identities.get(identity);
    if (first !== undefined) {
      // Its series would be the other target's (same attributes): both would write one series.
      invalid.push(`target ${t.url.href}: same container, job and instance as ${first}; give it a job of its own`);
      return;
    }
    keys.add(t.key);
    identities.set(identity, t.url.href);
    targets.push(t);
  };
  const interval = (ms: number | undefined) => ms || o.intervalMs || scrapeIntervalMs;
  for (const s of o.static) {
    const url = parseUrl(s.url);
    if (!url) {
      invalid.push(`static target ${JSON.stringify(s.url)}: not an http(s) URL`);
      continue;
    }
    const intervalMs = interval(s.intervalMs);
    add(
      target(url, s.container ?? '', s.job ?? 'static', intervalMs, Math.min(s.timeoutMs ?? o.timeoutMs, intervalMs)),
    );
  }
  if (o.dockerLabels) {
    const sorted = [...containers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of sorted) {
      if (c.labels[LABEL_SCRAPE] !== 'true') continue;
      const port = c.labels[LABEL_PORT];
      if (port === undefined || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
        invalid.push(`container ${c.name}: ${LABEL_PORT} ${JSON.stringify(port ?? null)} is not a port`);
        continue;
      }
      const scheme = c.labels[LABEL_SCHEME] ?? 'http';
      const rawPath = c.labels[LABEL_PATH] ?? '/metrics';
      const host = c.address ?? o.dockerHostAddress;
      const url =
        scheme === 'http' || scheme === 'https'
          ? parseUrl(
              `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${rawPath.startsWith('/') ? '' : '/'}${rawPath}`,
            )
          : undefined;
      if (!url) {
        invalid.push(`container ${c.name}: ${LABEL_SCHEME} or ${LABEL_PATH} do not make a URL`);
        continue;
      }
      const intervalMs = interval(undefined);
      add(target(url, c.name, 'docker', intervalMs, Math.min(o.timeoutMs, intervalMs)));
    }
  }
  const overLimit = Math.max(0, targets.length - o.maxTargets);
  return { targets: targets.slice(0, o.maxTargets), invalid, overLimit };
}

function target(url: URL, container: string, job: string, intervalMs: number, timeoutMs: number): Target {
  return { key: `${container}\u0000${url.href}`, url, container, job, instance: url.host, intervalMs, timeoutMs };
}

function parseUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}
