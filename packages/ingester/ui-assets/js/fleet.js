// @ts-check
/** Fleet page: every node with its state, last contact, uplink bytes against the raw equivalent and drops. */
import { apiJson, describeError } from './api.js';
import { formatAgo, formatBytes, formatNumber, formatRatio } from './format.js';
import { filterRows, sortableTable } from './table.js';
import { initTokenForm, setStatus } from './shell.js';

const DAY_MS = 86_400_000;

/**
 * One row per node. Per-node raw bytes and drops are shown when the nodes endpoint carries them;
 * the fleet totals come from /api/v1/fleet either way.
 * @typedef {{ node: string, online: boolean, lastSeen: string | null, containers: string[], uplinkBytes: number, rawBytes?: number, drops?: number }} NodeRow
 */

/** @param {Document} doc @param {NodeRow} r */
function nodeLink(doc, r) {
  const a = doc.createElement('a');
  a.href = `node.html?node=${encodeURIComponent(r.node)}`;
  a.textContent = r.node;
  return a;
}

/** @param {Document} doc @param {boolean} online */
function stateCell(doc, online) {
  const s = doc.createElement('span');
  s.className = `state ${online ? 'online' : 'offline'}`;
  s.textContent = online ? '● online' : '○ offline';
  return s;
}

/** @param {Document} doc @param {number} now @returns {import('./table.js').Column<NodeRow>[]} */
export function nodeColumns(doc, now) {
  return [
    { key: 'node', label: 'Node', value: (r) => r.node, cell: (r) => nodeLink(doc, r) },
    {
      key: 'state',
      label: 'State',
      value: (r) => (r.online ? 'online' : 'offline'),
      cell: (r) => stateCell(doc, r.online),
    },
    {
      key: 'lastSeen',
      label: 'Last seen',
      value: (r) => (r.lastSeen ? Date.parse(r.lastSeen) : 0),
      cell: (r) => formatAgo(r.lastSeen, now),
    },
    { key: 'containers', label: 'Containers', numeric: true, value: (r) => r.containers.length },
    {
      key: 'uplink',
      label: 'Uplink (24 h)',
      numeric: true,
      value: (r) => r.uplinkBytes,
      cell: (r) => formatBytes(r.uplinkBytes),
    },
    {
      key: 'raw',
      label: 'Raw equivalent',
      numeric: true,
      value: (r) => r.rawBytes ?? -1,
      cell: (r) => (r.rawBytes === undefined ? '–' : formatBytes(r.rawBytes)),
    },
    {
      key: 'ratio',
      label: 'Saving',
      numeric: true,
      value: (r) => (r.rawBytes && r.uplinkBytes ? r.rawBytes / r.uplinkBytes : 0),
      cell: (r) => formatRatio(r.rawBytes ?? 0, r.uplinkBytes),
    },
    {
      key: 'drops',
      label: 'Drops',
      numeric: true,
      value: (r) => r.drops ?? -1,
      cell: (r) => (r.drops === undefined ? '–' : formatNumber(r.drops)),
    },
  ];
}

/** @param {NodeRow[]} rows @param {string} query @param {string} state @param {import('./table.js').Column<NodeRow>[]} cols */
export function visibleNodes(rows, query, state, cols) {
  const byState = state ? rows.filter((r) => (state === 'online') === r.online) : rows;
  return filterRows(byState, cols, query);
}

function main() {
  const doc = document;
  initTokenForm(doc);
  const table = /** @type {HTMLTableElement} */ (doc.getElementById('nodes'));
  const dropsTable = /** @type {HTMLTableElement} */ (doc.getElementById('drops'));
  const status = /** @type {HTMLElement} */ (doc.getElementById('status'));
  const filter = /** @type {HTMLInputElement} */ (doc.getElementById('filter'));
  const stateFilter = /** @type {HTMLSelectElement} */ (doc.getElementById('state-filter'));
  const summary = /** @type {HTMLElement} */ (doc.getElementById('summary'));
  /** @type {NodeRow[]} */
  let rows = [];
  const nodesView = sortableTable(table, () => nodeColumns(doc, Date.now()), { sortKey: 'node', dir: 'ascending' });
  const dropsView = sortableTable(
    dropsTable,
    () => [
      { key: 'stage', label: 'Stage', value: (d) => d.stage },
      { key: 'reason', label: 'Reason', value: (d) => d.reason },
      { key: 'count', label: 'Count', numeric: true, value: (d) => d.count, cell: (d) => formatNumber(d.count) },
    ],
    { sortKey: 'count', dir: 'descending' },
  );

  const draw = () => {
    const shown = visibleNodes(rows, filter.value, stateFilter.value, nodeColumns(doc, Date.now()));
    nodesView.show(shown);
    setStatus(status, `${shown.length} of ${rows.length} nodes shown.`);
  };

  const card = (label, value) => {
    const li = doc.createElement('li');
    const l = doc.createElement('span');
    l.className = 'label';
    l.textContent = label;
    const v = doc.createElement('span');
    v.className = 'value';
    v.textContent = value;
    li.append(l, v);
    return li;
  };

  const load = async () => {
    setStatus(status, 'Loading…');
    try {
      const to = Date.now();
      const [nodes, fleet] = await Promise.all([
        apiJson('/api/v1/nodes'),
        apiJson(`/api/v1/fleet?from=${to - DAY_MS}&to=${to}`),
      ]);
      rows = nodes;
      const dropped = fleet.drops.reduce((n, d) => n + d.count, 0);
      summary.replaceChildren(
        card('Nodes online', `${fleet.online} / ${fleet.nodes}`),
        card('Uplink bytes (24 h)', formatBytes(fleet.uplinkBytes)),
        card('Raw equivalent (24 h)', formatBytes(fleet.rawBytes)),
        card('Saving', fleet.savingsRatio === null ? '–' : `${fleet.savingsRatio.toFixed(1)}x`),
        card('Dropped items (24 h)', formatNumber(dropped)),
      );
      dropsView.show(fleet.drops);
      draw();
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  };

  filter.addEventListener('input', draw);
  stateFilter.addEventListener('change', draw);
  doc.getElementById('refresh')?.addEventListener('click', load);
  doc.addEventListener('token-changed', load);
  void load();
}

if (typeof document !== 'undefined') main();
