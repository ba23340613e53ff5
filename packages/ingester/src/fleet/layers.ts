/**
 * Which configuration a node should run: pure functions over the latest layer of each scope.
 * Precedence node > group > fleet (the node applies the result over its local file). A node's
 * groups are those whose `label=value` its own labels hold, applied in target order (a later one
 * wins where two set the same option). What a node should run is its merged document, known by
 * its hash; the revision is the highest of its layers (removed ones included), which grows with
 * every new layer version that concerns the node but not when a rollout admits the node or its
 * labels change: fleet/delivery.ts decides on the hash.
 */
import { configHash, type ConfigDocument } from '@edge-telemetry/protocol';

export type Scope = 'fleet' | 'group' | 'node';

export interface Layer {
  scope: Scope;
  /** '' for the fleet, `label=value` for a group, the node id for a node. */
  target: string;
  rev: number;
  /** Undefined: removed at this revision. */
  doc: ConfigDocument | undefined;
  docHash: string;
  createdBy: string;
  createdAt: number;
}

export interface Desired {
  /** 0: no layer concerns the node (nothing is sent). */
  rev: number;
  doc: ConfigDocument;
  /** configHash of `doc`: the hash a node reports as its docHash once it applied it. */
  hash: string;
  layers: Layer[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` on `base`, objects merged key by key, anything else (arrays too) replaced. */
export function mergeOptions(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeOptions(b, v) : v;
  }
  return out;
}

export function groupMatches(target: string, labels: Readonly<Record<string, string>>): boolean {
  const eq = target.indexOf('=');
  return eq > 0 && labels[target.slice(0, eq)] === target.slice(eq + 1);
}

/** The layers that concern a node, lowest precedence first. */
export function layersFor(node: string, labels: Readonly<Record<string, string>>, all: readonly Layer[]): Layer[] {
  const order: Record<Scope, number> = { fleet: 0, group: 1, node: 2 };
  return all
    .filter(
      (l) =>
        l.scope === 'fleet' ||
        (l.scope === 'group' && groupMatches(l.target, labels)) ||
        (l.scope === 'node' && l.target === node),
    )
    .sort((a, b) => order[a.scope] - order[b.scope] || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

export function desiredFor(node: string, labels: Readonly<Record<string, string>>, all: readonly Layer[]): Desired {
  const layers = layersFor(node, labels, all);
  let options: Record<string, unknown> = {};
  let debug: ConfigDocument['debug'];
  for (const l of layers) {
    if (l.doc === undefined) continue;
    options = mergeOptions(options, l.doc.options);
    // A time-boxed debug is one node's: only the node's own layer carries it.
    if (l.scope === 'node') debug = l.doc.debug;
  }
  const doc: ConfigDocument = debug ? { options, debug } : { options };
  return { rev: layers.reduce((m, l) => Math.max(m, l.rev), 0), doc, hash: configHash(doc), layers };
}

export interface DiffEntry {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** What changed between two documents' options, leaf by leaf (arrays compared whole). */
export function diffOptions(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): DiffEntry[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((k): DiffEntry[] => {
    const a = before[k];
    const b = after[k];
    // A section added or removed whole is listed leaf by leaf, like one that changed.
    if ((isObject(a) || a === undefined) && (isObject(b) || b === undefined))
      return diffOptions(a ?? {}, b ?? {}, `${prefix}${k}.`);
    if (JSON.stringify(a) === JSON.stringify(b)) return [];
    return [{ path: prefix + k, ...(a === undefined ? {} : { from: a }), ...(b === undefined ? {} : { to: b }) }];
  });
}
