/**
 * Fleet control from the command line, through the ingester's API:
 *
 *   edge-telemetry config set <fleet | group <label>=<value> | node <id>> (--file doc.json | --set path=value ...)
 *       [--canary 0.05] [--waves 3] [--hold 5m] [--at-once]
 *   edge-telemetry config get <fleet | group <label>=<value> | node <id>>
 *   edge-telemetry config diff <fleet | group <label>=<value> | node <id>> [--from rev] [--to rev]
 *   edge-telemetry config rollout [status [id] | halt <id> | resume <id>]
 *   edge-telemetry config status
 *   edge-telemetry debug <node> --for 15m [--bytes N] [--level debug] [--container glob ...]
 *
 * `--set logs.defaults.filter.minLevel=debug` sets one option (the value is read as JSON when it
 * parses, otherwise as text); `--file` holds the options object. Common flags as for `tokens`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { setPath } from '@edge-telemetry/protocol';
import type { CommandIo } from './index.js';
import { alignedTable, call, COMMON, guarded, target, type Env, type Target } from './api-command.js';
import { parseDuration } from '../simulate/options.js';

const SCOPE_USAGE = 'fleet | group <label>=<value> | node <id>';
const API_FLAGS = '[--url URL] [--token T] [--json]';
/** Each command's own usage line, printed after a usage error of that command. */
const USAGE = {
  set: `usage: edge-telemetry config set <${SCOPE_USAGE}> (--file doc.json | --set path=value ...) [--canary 0.05] [--waves 3] [--hold 5m] [--at-once] ${API_FLAGS}\n`,
  get: `usage: edge-telemetry config get <${SCOPE_USAGE}> ${API_FLAGS}\n`,
  diff: `usage: edge-telemetry config diff <${SCOPE_USAGE}> [--from rev] [--to rev] ${API_FLAGS}\n`,
  rollout: `usage: edge-telemetry config rollout [status [id] | halt <id> | resume <id>] ${API_FLAGS}\n`,
  status: `usage: edge-telemetry config status ${API_FLAGS}\n`,
  debug: `usage: edge-telemetry debug <node> --for 15m [--bytes N] [--level trace|debug|info] [--container glob]... ${API_FLAGS}\n`,
};

/** The API path of a layer from the words that name it. */
export function layerPath(words: string[]): string {
  const [scope, name, ...rest] = words;
  if (scope === 'fleet' && name === undefined) return '/api/v1/config/fleet';
  if (scope === 'group' && name !== undefined && rest.length === 0) {
    const eq = name.indexOf('=');
    if (eq > 0 && eq < name.length - 1)
      return `/api/v1/config/groups/${encodeURIComponent(name.slice(0, eq))}/${encodeURIComponent(name.slice(eq + 1))}`;
  }
  if (scope === 'node' && name !== undefined && rest.length === 0)
    return `/api/v1/config/nodes/${encodeURIComponent(name)}`;
  throw new Error(`name the layer: ${SCOPE_USAGE}`);
}

/** `a.b.c=value` pairs into one nested object (a value that parses as JSON is that JSON). */
/** `base` (the layer's options in force) with each `--set path=value` over it. */
export function optionsFromSets(sets: string[], base: Record<string, unknown> = {}): Record<string, unknown> {
  const out = structuredClone(base);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set ${s}: expected path=value`);
    const keys = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Plain text (a level name, a pattern).
    }
    setPath(out, keys, value);
  }
  return out;
}

export interface NodeRow {
  node: string;
  online: boolean;
  agentVersion: string;
  desiredRev: number;
  inSync: boolean;
  config?: {
    state: string;
    rev: number;
    appliedRev: number;
    reason?: string;
    /** Options of the document that take effect only at the node's next start. */
    restartNeeded?: string[];
    debugUntil?: number;
    effectiveHash: string;
  };
}

/** One line per node: what it runs against what it should, why not when it failed, and what waits for a restart. */
export function formatStatusTable(nodes: NodeRow[]): string {
  const rows = [
    ['NODE', 'ONLINE', 'VERSION', 'STATE', 'APPLIED', 'DESIRED', 'IN-SYNC', 'HASH', 'DEBUG-UNTIL', 'REASON'],
    ...nodes.map((n) => [
      n.node,
      n.online ? 'yes' : 'no',
      n.agentVersion,
      n.config?.state ?? '-',
      String(n.config?.appliedRev ?? 0),
      String(n.desiredRev),
      n.inSync ? 'yes' : 'no',
      n.config?.effectiveHash.slice(0, 12) ?? '-',
      n.config?.debugUntil ? new Date(n.config.debugUntil).toISOString() : '-',
      n.config?.reason ??
        (n.config?.restartNeeded?.length
          ? `applied; takes effect at its next start: ${n.config.restartNeeded.join(', ')}`
          : ''),
    ]),
  ];
  return alignedTable(rows);
}

/** The rollout of a group or fleet change from the flags (undefined: the ingester's defaults; false: at once). */
function rolloutFromFlags(v: {
  canary?: string;
  waves?: string;
  hold?: string;
  'at-once'?: boolean;
}): Record<string, number> | false | undefined {
  if (v['at-once']) {
    if (v.canary !== undefined || v.waves !== undefined || v.hold !== undefined)
      throw new Error('--at-once excludes --canary, --waves and --hold');
    return false;
  }
  const out: Record<string, number> = {};
  if (v.canary !== undefined) {
    const share = Number(v.canary);
    if (!(share >= 0 && share <= 1)) throw new Error('--canary is a share between 0 and 1, like 0.05');
    out.canaryShare = share;
  }
  if (v.waves !== undefined) {
    if (!/^\d+$/.test(v.waves) || Number(v.waves) < 1) throw new Error('--waves is a whole number of at least 1');
    out.waves = Number(v.waves);
  }
  if (v.hold !== undefined) {
    const hold = parseDuration(v.hold);
    if (hold === undefined) throw new Error('--hold is a duration, like 5m or 30s');
    out.holdMs = hold;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The options of `config set`, `debug` and `config diff` (the top-level usage lists each). */
export const SET_OPTIONS = {
  ...COMMON,
  file: { type: 'string' },
  set: { type: 'string', multiple: true },
  canary: { type: 'string' },
  waves: { type: 'string' },
  hold: { type: 'string' },
  'at-once': { type: 'boolean' },
} as const;
export const DEBUG_OPTIONS = {
  ...COMMON,
  for: { type: 'string' },
  bytes: { type: 'string' },
  level: { type: 'string' },
  container: { type: 'string', multiple: true },
} as const;
export const DIFF_OPTIONS = { ...COMMON, from: { type: 'string' }, to: { type: 'string' } } as const;

export async function parseSetArgs(
  argv: string[],
  env: Env,
): Promise<Target & { path: string; options: Record<string, unknown>; rollout?: Record<string, number> | false }> {
  const { values, positionals } = parseArgs({ args: argv, options: SET_OPTIONS, allowPositionals: true });
  const sets = values.set ?? [];
  if ((values.file === undefined) === (sets.length === 0)) throw new Error('give either --file or --set path=value');
  const rollout = rolloutFromFlags(values);
  const t = target(values, env);
  const path = layerPath(positionals);
  let options: Record<string, unknown>;
  if (values.file !== undefined) options = JSON.parse(await readFile(values.file, 'utf8')) as Record<string, unknown>;
  else {
    // --set changes one option of the layer in force and keeps the others (--file replaces the layer).
    const { versions } = await call<{ versions: Array<{ doc?: { options?: Record<string, unknown> } }> }>(
      t,
      'GET',
      path,
    );
    options = optionsFromSets(sets, versions[0]?.doc?.options ?? {});
  }
  return { ...t, path, options, ...(rollout === undefined ? {} : { rollout }) };
}

export function parseDebugArgs(argv: string[], env: Env): Target & { node: string; body: Record<string, unknown> } {
  const { values, positionals } = parseArgs({ args: argv, options: DEBUG_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1) throw new Error('give one node id');
  if (values.for === undefined) throw new Error('--for is required, like 15m or 90s');
  const forMs = parseDuration(values.for);
  if (forMs === undefined) throw new Error(`--for ${values.for}: not a duration; give one like 15m or 90s`);
  if (values.bytes !== undefined && !/^\d+$/.test(values.bytes)) throw new Error('--bytes must be a number of bytes');
  return {
    ...target(values, env),
    node: positionals[0] as string,
    body: {
      forMs,
      ...(values.bytes !== undefined ? { extraBytes: Number(values.bytes) } : {}),
      ...(values.level !== undefined ? { level: values.level } : {}),
      ...(values.container ? { containers: values.container } : {}),
    },
  };
}

export interface RolloutRow {
  id: string;
  scope: string;
  target: string;
  rev: number;
  /** What a failure reverts to: the last version rolled out to every node. */
  prevRev: number;
  state: string;
  reason: string;
  stage: number;
  stages: number[];
  nodes: number;
  /** Nodes online at the start (the first `judged` of the order): the stages up to them are the canaries and waves. */
  judged: number;
  admitted: number;
  holdMs: number;
  holdingSince?: string;
  startedBy: string;
  startedAt: string;
}

interface ChangeView {
  layer: { scope: string; target: string; rev: number };
  diff: DiffLine[];
  sent: number;
  rollout?: RolloutRow;
  /** Rollouts of the same layer still under way that this change replaced. */
  superseded?: Array<{ id: string; rev: number }>;
}
type DiffLine = { path: string; from?: unknown; to?: unknown };

const diffLines = (diff: DiffLine[]): string =>
  diff
    .map((d) => `  ${d.path}: ${JSON.stringify(d.from) ?? '(unset)'} -> ${JSON.stringify(d.to) ?? '(unset)'}\n`)
    .join('');

/** The stages as they happen: the last one, when some nodes were offline at the start, is not a wave but their return. */
function describeStages(r: RolloutRow): string {
  const offline = r.nodes - r.judged;
  if (r.judged === 0) return `all ${r.nodes} node(s) offline at the start: each gets it as it returns`;
  const waves = r.stages.filter((n) => n <= r.judged).length - 1;
  return (
    `${r.stages[0] ?? 0} canary node(s) of ${r.judged} online, then ${waves} wave(s), each stage held ${r.holdMs} ms` +
    (offline > 0 ? `, then the ${offline} node(s) offline at the start as they return` : '')
  );
}

/** What a failed stage goes back to, and the changes still rolling out that this one drops with it. */
function describeRevert(c: ChangeView & { rollout: RolloutRow }): string {
  const to = c.rollout.prevRev === 0 ? 'no layer' : `revision ${c.rollout.prevRev}`;
  const dropped = (c.superseded ?? []).map((s) => `revision ${s.rev} (rollout ${s.id})`);
  return (
    `  a failed stage reverts it to ${to}, the last version rolled out to every node` +
    (dropped.length > 0 ? `; superseded and dropped with it: ${dropped.join(', ')}` : '') +
    '\n'
  );
}

export const describeChange = (c: ChangeView): string =>
  `${c.layer.scope}${c.layer.target ? ` ${c.layer.target}` : ''} at revision ${c.layer.rev}, sent to ${c.sent} node(s)\n` +
  diffLines(c.diff) +
  (c.rollout
    ? `  rollout ${c.rollout.id}: ${describeStages(c.rollout)}\n` + describeRevert({ ...c, rollout: c.rollout })
    : '');

export const runConfigSet = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.set, async () => {
    const a = await parseSetArgs(argv, process.env);
    const c = await call<ChangeView>(a, 'PUT', a.path, {
      options: a.options,
      ...(a.rollout === undefined ? {} : { rollout: a.rollout }),
    });
    io.stdout.write(a.json ? JSON.stringify(c) + '\n' : describeChange(c));
  });

export const runConfigDiff = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.diff, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: DIFF_OPTIONS, allowPositionals: true });
    const a = target(values, process.env);
    const q = new URLSearchParams();
    for (const k of ['from', 'to'] as const) {
      const v = values[k];
      if (v === undefined) continue;
      if (!/^\d+$/.test(v)) throw new Error(`--${k} is a revision number`);
      q.set(k, v);
    }
    const qs = q.size > 0 ? `?${q.toString()}` : '';
    const d = await call<{ from: number; to: number; diff: DiffLine[] }>(
      a,
      'GET',
      `${layerPath(positionals)}/diff${qs}`,
    );
    io.stdout.write(
      a.json ? JSON.stringify(d) + '\n' : `revision ${d.from} -> ${d.to}\n${diffLines(d.diff) || '  (no change)\n'}`,
    );
  });

/** One line per rollout: where it stands. */
export function formatRolloutTable(rollouts: RolloutRow[]): string {
  return alignedTable([
    ['ID', 'LAYER', 'REV', 'STATE', 'STAGE', 'ADMITTED', 'STARTED', 'BY', 'REASON'],
    ...rollouts.map((r) => [
      r.id,
      `${r.scope}${r.target ? ` ${r.target}` : ''}`,
      String(r.rev),
      r.state,
      `${r.stage + 1}/${r.stages.length}`,
      `${r.admitted}/${r.nodes}`,
      r.startedAt,
      r.startedBy,
      r.reason,
    ]),
  ]);
}

export const runConfigRollout = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.rollout, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true });
    const a = target(values, process.env);
    const [verb = 'status', id, ...rest] = positionals;
    if (rest.length > 0) throw new Error('too many arguments');
    if (id !== undefined && !/^[0-9a-f]{16}$/.test(id)) throw new Error(`${id}: not a rollout id`);
    let rows: RolloutRow[];
    if (verb === 'status')
      rows =
        id === undefined
          ? (await call<{ rollouts: RolloutRow[] }>(a, 'GET', '/api/v1/config/rollouts')).rollouts
          : [await call<RolloutRow>(a, 'GET', `/api/v1/config/rollouts/${id}`)];
    else if (verb === 'halt' || verb === 'resume') {
      if (id === undefined) throw new Error(`config rollout ${verb} <id>`);
      rows = [await call<RolloutRow>(a, 'POST', `/api/v1/config/rollouts/${id}/${verb}`)];
    } else throw new Error(`config rollout ${verb}: expected status, halt or resume`);
    io.stdout.write(a.json ? JSON.stringify(rows) + '\n' : formatRolloutTable(rows));
  });

export const runConfigGet = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.get, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true });
    const a = target(values, process.env);
    const { versions } = await call<{ versions: unknown[] }>(a, 'GET', layerPath(positionals));
    const layer = positionals.join(' ');
    io.stdout.write(
      a.json
        ? JSON.stringify(versions) + '\n'
        : versions[0] === undefined
          ? `no ${layer} layer yet: \`edge-telemetry config set ${layer} --set path=value\` sets one\n`
          : JSON.stringify(versions[0], null, 2) + '\n',
    );
  });

export const runConfigStatus = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.status, async () => {
    const a = target(parseArgs({ args: argv, options: COMMON }).values, process.env);
    const { nodes } = await call<{ nodes: NodeRow[] }>(a, 'GET', '/api/v1/config/status');
    io.stdout.write(a.json ? JSON.stringify(nodes) + '\n' : formatStatusTable(nodes));
  });

export const runDebug = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE.debug, async () => {
    const a = parseDebugArgs(argv, process.env);
    const c = await call<ChangeView & { layer: { doc?: { debug?: { until: number } } } }>(
      a,
      'POST',
      `/api/v1/nodes/${encodeURIComponent(a.node)}/debug`,
      a.body,
    );
    const until = c.layer.doc?.debug?.until;
    io.stdout.write(
      a.json
        ? JSON.stringify(c) + '\n'
        : `debug of ${a.node} at revision ${c.layer.rev}${until ? ` until ${new Date(until).toISOString()}` : ''} (the node ends it by itself)\n`,
    );
  });
