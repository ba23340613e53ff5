// @ts-check
/**
 * Fleet configuration page: rollouts (stage, state, halt and resume for admins), the fleet grouped
 * by version (GET /api/v1/config/versions), the layers with each one's versions and the diff of a
 * version against the one before, and every node's configuration state. Every value reaches the
 * page as text (textContent, never markup): node names, labels, options and reasons come from the
 * nodes and from whoever wrote a layer.
 */
import { apiJson, describeError } from './api.js';
import { formatAgo, formatNumber } from './format.js';
import { sortableTable } from './table.js';
import { initTokenForm, setStatus } from './shell.js';

/** The API path of a layer: the fleet, a group (`label=value`) or a node. @param {{ scope: string, target: string }} l */
export function layerPath(l) {
  if (l.scope === 'fleet') return '/api/v1/config/fleet';
  if (l.scope === 'node') return `/api/v1/config/nodes/${encodeURIComponent(l.target)}`;
  const eq = l.target.indexOf('=');
  return `/api/v1/config/groups/${encodeURIComponent(l.target.slice(0, eq))}/${encodeURIComponent(l.target.slice(eq + 1))}`;
}

/** `fleet`, `group site=berlin`, `node gw-1`. @param {{ scope: string, target: string }} l */
export const layerName = (l) => (l.scope === 'fleet' ? 'fleet' : `${l.scope} ${l.target}`);

/** "canaries" for stage 0, else "wave n of m". @param {{ stage: number, stages: number[] }} r */
export function stageText(r) {
  const waves = r.stages.length - 1;
  return r.stage === 0 ? `canaries (1 of ${r.stages.length})` : `wave ${r.stage} of ${waves}`;
}

/** A diff value as JSON, or "(unset)" when the option was not set on that side. @param {unknown} v */
export const optionValue = (v) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** @param {Document} doc @param {string} text @param {() => void} onClick @param {string} label */
function button(doc, text, onClick, label) {
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function main() {
  const doc = document;
  initTokenForm(doc);
  const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
  const table = (id) => /** @type {HTMLTableElement} */ ($(id));
  const status = $('status');
  const ago = (iso) => formatAgo(iso, Date.now());
  /** @type {{ scope: string, target: string } | undefined} */
  let opened;

  const act = async (r, verb) => {
    try {
      const next = await apiJson(`/api/v1/config/rollouts/${encodeURIComponent(r.id)}/${verb}`, { method: 'POST' });
      await load(`Rollout ${next.id} is ${next.state}.`);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  };

  const rollouts = sortableTable(
    table('rollouts'),
    () => [
      { key: 'startedAt', label: 'Started', value: (r) => r.startedAt, cell: (r) => ago(r.startedAt) },
      { key: 'layer', label: 'Layer', value: (r) => layerName(r) },
      { key: 'rev', label: 'Revision', numeric: true, value: (r) => r.rev },
      { key: 'state', label: 'State', value: (r) => r.state },
      { key: 'stage', label: 'Stage', value: (r) => r.stage, cell: (r) => stageText(r) },
      {
        key: 'admitted',
        label: 'Nodes reached',
        numeric: true,
        value: (r) => r.admitted,
        cell: (r) => `${formatNumber(r.admitted)} / ${formatNumber(r.nodes)}`,
      },
      { key: 'reason', label: 'Reason', value: (r) => r.reason },
      { key: 'startedBy', label: 'By', value: (r) => r.startedBy },
      {
        key: 'actions',
        label: 'Actions',
        value: (r) => r.state,
        cell: (r) =>
          r.state === 'running'
            ? button(doc, 'Halt', () => void act(r, 'halt'), `Halt rollout ${r.id}`)
            : r.state === 'halted'
              ? button(doc, 'Resume', () => void act(r, 'resume'), `Resume rollout ${r.id}`)
              : '',
      },
    ],
    { sortKey: 'startedAt', dir: 'descending' },
  );
  const versions = sortableTable(
    table('versions'),
    () => [
      { key: 'agentVersion', label: 'Collector version', value: (g) => g.agentVersion },
      { key: 'configVersions', label: 'Document versions', value: (g) => g.configVersions.join(', ') },
      { key: 'effectiveHash', label: 'Effective configuration', value: (g) => g.effectiveHash.slice(0, 12) || '–' },
      { key: 'nodes', label: 'Nodes', numeric: true, value: (g) => g.nodes },
      { key: 'online', label: 'Online', numeric: true, value: (g) => g.online },
      { key: 'inSync', label: 'In sync', numeric: true, value: (g) => g.inSync },
      { key: 'sample', label: 'For example', value: (g) => g.sample.join(', ') },
    ],
    { sortKey: 'nodes', dir: 'descending' },
  );
  /** A layer version's revision, options (or removal), author and time. */
  const versionColumns = () => [
    { key: 'rev', label: 'Revision', numeric: true, value: (l) => l.rev },
    {
      key: 'removed',
      label: 'Options',
      value: (l) => (l.removed ? '(removed)' : JSON.stringify(l.doc?.options ?? {})),
    },
    { key: 'createdBy', label: 'By', value: (l) => l.createdBy },
    { key: 'createdAt', label: 'When', value: (l) => l.createdAt, cell: (l) => ago(l.createdAt) },
  ];
  const layers = sortableTable(
    table('layers'),
    () => [
      { key: 'layer', label: 'Layer', value: (l) => layerName(l) },
      ...versionColumns(),
      {
        key: 'history',
        label: 'Versions',
        value: () => '',
        cell: (l) => button(doc, 'Versions', () => void openLayer(l), `Versions of ${layerName(l)}`),
      },
    ],
    { sortKey: 'layer', dir: 'ascending' },
  );
  const history = sortableTable(
    table('history-versions'),
    () => [
      ...versionColumns(),
      {
        key: 'diff',
        label: 'Diff',
        value: () => '',
        cell: (l) => button(doc, 'Diff', () => void showDiff(l.rev), `Changes in revision ${l.rev}`),
      },
    ],
    { sortKey: 'rev', dir: 'descending' },
  );
  const diff = sortableTable(
    table('diff'),
    () => [
      { key: 'path', label: 'Option', value: (d) => d.path },
      { key: 'from', label: 'Before', value: (d) => optionValue(d.from) },
      { key: 'to', label: 'After', value: (d) => optionValue(d.to) },
    ],
    { sortKey: 'path', dir: 'ascending' },
  );
  const nodes = sortableTable(
    table('nodes'),
    () => [
      { key: 'node', label: 'Node', value: (n) => n.node },
      { key: 'online', label: 'Online', value: (n) => (n.online ? 'online' : 'offline') },
      { key: 'state', label: 'State', value: (n) => n.config?.state ?? '–' },
      { key: 'applied', label: 'Applied revision', numeric: true, value: (n) => n.config?.appliedRev ?? 0 },
      { key: 'desired', label: 'Should run', numeric: true, value: (n) => n.desiredRev },
      { key: 'inSync', label: 'In sync', value: (n) => (n.inSync ? 'yes' : 'no') },
      { key: 'reason', label: 'Reason', value: (n) => n.config?.reason ?? '' },
      { key: 'restart', label: 'Needs a restart for', value: (n) => (n.config?.restartNeeded ?? []).join(', ') },
      {
        key: 'labels',
        label: 'Labels',
        value: (n) =>
          Object.entries(n.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
      },
      { key: 'agentVersion', label: 'Collector', value: (n) => n.agentVersion },
    ],
    { sortKey: 'node', dir: 'ascending' },
  );

  async function showDiff(rev) {
    if (!opened) return;
    try {
      const d = await apiJson(`${layerPath(opened)}/diff?to=${rev}`);
      $('diff-rev').textContent = `${d.to} (against ${d.from || 'none'})`;
      diff.show(d.diff);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  }

  async function openLayer(l) {
    opened = { scope: l.scope, target: l.target };
    try {
      const h = await apiJson(layerPath(l));
      $('history-layer').textContent = layerName(l);
      history.show(h.versions);
      $('history').hidden = false;
      await showDiff(h.versions[0]?.rev ?? l.rev);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  }

  /** @param {string} [said] what the status line says once loaded (default: the counts) */
  async function load(said) {
    try {
      const [r, v, l, s] = await Promise.all([
        apiJson('/api/v1/config/rollouts?limit=50'),
        apiJson('/api/v1/config/versions'),
        apiJson('/api/v1/config/layers'),
        apiJson('/api/v1/config/status'),
      ]);
      rollouts.show(r.rollouts);
      versions.show(v.groups);
      layers.show(l.layers);
      nodes.show(s.nodes);
      setStatus(
        status,
        said ?? `Nodes: ${s.nodes.length}, layers: ${l.layers.length}, rollouts: ${r.rollouts.length}.`,
      );
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  }

  $('refresh').addEventListener('click', () => {
    setStatus(status, 'Loading…');
    void load();
  });
  doc.addEventListener('token-changed', () => void load());
  void load();
}

if (typeof document !== 'undefined') main();
