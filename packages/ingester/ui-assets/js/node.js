// @ts-check
/**
 * Node page: containers, metric charts over a chosen range (applications' series beside the
 * containers', named by their service or target), span summaries, recent warnings and errors, top
 * templates.
 */
import { apiJson, describeError } from './api.js';
import { renderChart } from './chart.js';
import { formatAgo, formatNumber, formatTime, stepFor } from './format.js';
import { sortableTable } from './table.js';
import { initTokenForm, setStatus } from './shell.js';

const CHART_POINTS = 120;

/**
 * A series' line label: its container, then an application's `service.name` (its value alone),
 * then its other attributes as key=value.
 * @param {{ container: string, attrs?: Record<string, string> }} s
 */
export function seriesLabel(s) {
  const { 'service.name': service = '', ...rest } = s.attrs ?? {};
  return [s.container, service, ...Object.entries(rest).map(([k, v]) => `${k}=${v}`)]
    .filter((x) => x !== '')
    .join(' · ');
}

/**
 * One chart per metric, one line per series (container, or application with its attributes), plotting the chosen statistic.
 * @param {{ container: string, metric: string, attrs?: Record<string, string>, points: Record<string, number | string | null>[] }[]} series @param {string} stat
 */
export function chartsByMetric(series, stat) {
  /** @type {Map<string, import('./chart.js').Series[]>} */
  const out = new Map();
  for (const s of series) {
    const list = out.get(s.metric) ?? out.set(s.metric, []).get(s.metric) ?? [];
    list.push({
      label: seriesLabel(s),
      points: s.points.map((p) => ({
        t: Date.parse(String(p.t)),
        v: p[stat] === null || p[stat] === undefined ? null : Number(p[stat]),
      })),
    });
  }
  return [...out].sort((a, b) => a[0].localeCompare(b[0]));
}

/** Units a reader expects from the metric's name suffix. @param {string} metric */
export function unitOf(metric) {
  if (metric.endsWith('_pct')) return '%';
  if (metric.endsWith('_bytes_per_s')) return 'B/s';
  if (metric.endsWith('_bytes')) return 'bytes';
  return '';
}

function main() {
  const doc = document;
  initTokenForm(doc);
  const node = new URLSearchParams(location.search).get('node') ?? '';
  const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
  const status = $('status');
  if (!node) {
    // Opened without ?node=: every call would ask for /api/v1/nodes//..., refused with a pattern error.
    setStatus(status, 'No node given: pick one on the Fleet page, or open node.html?node=<node id>.', true);
    return;
  }
  const range = /** @type {HTMLSelectElement} */ ($('range'));
  const containerSel = /** @type {HTMLSelectElement} */ ($('container'));
  const stat = /** @type {HTMLSelectElement} */ ($('stat'));
  $('title').textContent = `Node ${node}`;
  doc.title = `${node} · edge telemetry`;
  /** @type {HTMLAnchorElement} */ ($('pull-link')).href = `pull.html?node=${encodeURIComponent(node)}`;
  const nodePath = `/api/v1/nodes/${encodeURIComponent(node)}`;

  const logsView = sortableTable(
    /** @type {HTMLTableElement} */ ($('logs')),
    () => [
      { key: 'ts', label: 'Time (UTC)', value: (l) => l.ts, cell: (l) => formatTime(l.ts) },
      { key: 'level', label: 'Level', value: (l) => l.level, cell: (l) => levelCell(doc, l.level) },
      { key: 'container', label: 'Container', value: (l) => l.container },
      { key: 'message', label: 'Message', value: (l) => l.message },
    ],
    { sortKey: 'ts', dir: 'descending' },
  );
  const templatesView = sortableTable(
    /** @type {HTMLTableElement} */ ($('templates')),
    () => [
      { key: 'template', label: 'Template', value: (t) => t.template, cell: (t) => code(doc, t.template) },
      { key: 'count', label: 'Count', numeric: true, value: (t) => t.count, cell: (t) => formatNumber(t.count) },
      { key: 'level', label: 'Level', value: (t) => t.level, cell: (t) => levelCell(doc, t.level) },
      { key: 'container', label: 'Container', value: (t) => t.container },
      { key: 'lastSeen', label: 'Last seen (UTC)', value: (t) => t.lastSeen, cell: (t) => formatTime(t.lastSeen) },
    ],
    { sortKey: 'count', dir: 'descending' },
  );

  const spansView = sortableTable(
    /** @type {HTMLTableElement} */ ($('spans')),
    () => [
      { key: 'service', label: 'Service', value: (x) => x.service },
      { key: 'operation', label: 'Operation', value: (x) => x.operation, cell: (x) => code(doc, x.operation) },
      { key: 'kind', label: 'Kind', value: (x) => x.kind },
      { key: 'status', label: 'Status', value: (x) => x.status },
      { key: 'count', label: 'Spans', numeric: true, value: (x) => x.count, cell: (x) => formatNumber(x.count) },
      { key: 'errors', label: 'Errors', numeric: true, value: (x) => x.errors, cell: (x) => formatNumber(x.errors) },
      ...['p50', 'p95', 'p99'].map((q) => ({
        key: q,
        label: `${q} (ms)`,
        numeric: true,
        value: (x) => x[q] ?? -1,
        cell: (x) => (x[q] === null ? '–' : formatNumber(x[q])),
      })),
      { key: 'errorNames', label: 'Errors seen', value: (x) => x.errorNames.join(', ') },
      { key: 'container', label: 'Container', value: (x) => x.container },
      {
        key: 'traceIds',
        label: 'Trace ids (slowest)',
        value: (x) => x.traceIds.join(' '),
        cell: (x) => code(doc, x.traceIds.join(' ')),
      },
    ],
    { sortKey: 'count', dir: 'descending' },
  );

  const loadFacts = async () => {
    const nodes = await apiJson('/api/v1/nodes');
    const me = nodes.find((n) => n.node === node);
    const facts = $('facts');
    facts.replaceChildren();
    const fact = (k, v) => {
      const dt = doc.createElement('dt');
      dt.textContent = k;
      const dd = doc.createElement('dd');
      dd.append(v);
      facts.append(dt, dd);
    };
    if (!me) {
      fact('State', 'unknown node');
      return;
    }
    const st = doc.createElement('span');
    st.className = `state ${me.online ? 'online' : 'offline'}`;
    st.textContent = me.online ? '● online' : '○ offline';
    fact('State', st);
    fact('Last seen', me.lastSeen ? `${formatTime(me.lastSeen)} UTC (${formatAgo(me.lastSeen, Date.now())})` : 'never');
    const list = $('containers');
    list.replaceChildren(
      ...me.containers.map((c) => {
        const li = doc.createElement('li');
        li.textContent = c;
        return li;
      }),
    );
    const chosen = containerSel.value;
    containerSel.replaceChildren(
      new Option('all', ''),
      ...me.containers.map((c) => new Option(c, c, false, c === chosen)),
    );
  };

  const loadData = async () => {
    const to = Date.now();
    const span = Number(range.value);
    const from = to - span;
    const container = containerSel.value ? `&container=${encodeURIComponent(containerSel.value)}` : '';
    const [metrics, logs, templates, spans] = await Promise.all([
      apiJson(`${nodePath}/metrics?from=${from}&to=${to}&step=${stepFor(span, CHART_POINTS)}${container}`),
      apiJson(`${nodePath}/logs?level=warn&limit=50&from=${from}&to=${to}${container}`),
      apiJson(`${nodePath}/templates?limit=20&from=${from}&to=${to}${container}`),
      apiJson(`${nodePath}/spans?from=${from}&to=${to}&step=${stepFor(span, CHART_POINTS)}${container}`),
    ]);
    const charts = $('charts');
    const groups = chartsByMetric(metrics.series, stat.value);
    charts.replaceChildren(
      ...groups.map(([metric, series], i) =>
        renderChart(doc, { id: `chart-${i}`, title: metric, unit: unitOf(metric), series, from, to }),
      ),
    );
    if (groups.length === 0) charts.textContent = 'No metrics in this range.';
    logsView.show(logs.logs);
    templatesView.show(templates.templates);
    spansView.show(spans.spans);
    return {
      series: metrics.series.length,
      logs: logs.logs.length,
      // The API searches logs within a time budget and says how far back it got (a partial answer).
      logsFrom: logs.partial ? logs.searchedFrom : undefined,
      step: metrics.step,
      source: metrics.source,
    };
  };

  const load = async () => {
    setStatus(status, 'Loading…');
    try {
      await loadFacts();
      const r = await loadData();
      const cut = r.logsFrom
        ? ` Warnings and errors searched back to ${new Date(r.logsFrom).toLocaleString()} only.`
        : '';
      setStatus(status, `${r.series} series (step ${r.step} s, ${r.source}), ${r.logs} warnings and errors.${cut}`);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  };

  for (const el of [range, containerSel, stat]) el.addEventListener('change', load);
  $('refresh').addEventListener('click', load);
  doc.addEventListener('token-changed', load);
  void load();
}

/** @param {Document} doc @param {string} level */
function levelCell(doc, level) {
  const s = doc.createElement('span');
  s.className = `level-${level}`;
  s.textContent = level;
  return s;
}

/** @param {Document} doc @param {string} text */
function code(doc, text) {
  const c = doc.createElement('code');
  c.textContent = text;
  return c;
}

if (typeof document !== 'undefined') main();
