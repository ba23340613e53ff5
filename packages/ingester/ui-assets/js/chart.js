// @ts-check
/**
 * Line charts as inline SVG. `chartModel` is pure (series in, paths and ticks out) so it is tested
 * without a browser; `renderChart` turns the model into SVG plus a data table as its text alternative.
 */
import { formatNumber, formatTime } from './format.js';

/** Colour-blind-safe palette (Okabe-Ito), all 3:1 or better against white for graphical objects. */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#8a6d00', '#56b4e9', '#000000'];

/** @typedef {{ label: string, points: { t: number, v: number | null }[] }} Series */
/** @typedef {{ width: number, height: number, pad: { l: number, r: number, t: number, b: number } }} Box */

const NS = 'http://www.w3.org/2000/svg';

/** Round numbers for axis ticks between lo and hi. @param {number} lo @param {number} hi @param {number} n */
export function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Paths in SVG user units. A null value breaks the line (a gap in the data, not a zero).
 * @param {Series[]} series @param {number} from @param {number} to @param {Box} box
 */
export function chartModel(series, from, to, box) {
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => v !== null && Number.isFinite(v));
  let lo = values.length ? Math.min(0, ...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi === lo) hi = lo + 1;
  const yTicks = niceTicks(lo, hi, 4);
  hi = Math.max(hi, yTicks[yTicks.length - 1] ?? hi);
  lo = Math.min(lo, yTicks[0] ?? lo);
  const w = box.width - box.pad.l - box.pad.r;
  const h = box.height - box.pad.t - box.pad.b;
  const x = (t) => box.pad.l + ((t - from) / Math.max(1, to - from)) * w;
  const y = (v) => box.pad.t + h - ((v - lo) / (hi - lo)) * h;
  const paths = series.map((s) => {
    let d = '';
    let pen = false;
    for (const p of s.points) {
      if (p.v === null || !Number.isFinite(p.v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      pen = true;
    }
    return { label: s.label, d };
  });
  const xTicks = niceTimeTicks(from, to, 4).map((t) => ({ t, x: x(t) }));
  return { paths, yTicks: yTicks.map((v) => ({ v, y: y(v) })), xTicks, lo, hi };
}

/** Tick times at whole minutes/hours/days, about n of them. @param {number} from @param {number} to @param {number} n */
export function niceTimeTicks(from, to, n) {
  const steps = [60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  const step = steps.find((s) => (to - from) / s <= n) ?? 86400e3;
  const out = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

/** @param {Document} doc @param {string} tag @param {Record<string, string | number>} attrs */
function svgEl(doc, tag, attrs) {
  const e = doc.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * A <figure> with the chart, a legend and a collapsible table of the plotted values.
 * @param {Document} doc @param {{ id: string, title: string, series: Series[], from: number, to: number, unit?: string }} c
 */
export function renderChart(doc, c) {
  const box = { width: 560, height: 220, pad: { l: 56, r: 28, t: 10, b: 24 } };
  const m = chartModel(c.series, c.from, c.to, box);
  const fig = doc.createElement('figure');
  fig.className = 'chart';
  const cap = doc.createElement('figcaption');
  cap.id = `${c.id}-title`;
  cap.textContent = c.unit ? `${c.title} (${c.unit})` : c.title;
  fig.append(cap);
  const svg = svgEl(doc, 'svg', {
    viewBox: `0 0 ${box.width} ${box.height}`,
    role: 'img',
    'aria-labelledby': `${c.id}-title ${c.id}-desc`,
  });
  const desc = svgEl(doc, 'desc', { id: `${c.id}-desc` });
  desc.textContent = summarise(c.series, m.lo, m.hi);
  svg.append(desc);
  for (const t of m.yTicks) {
    svg.append(svgEl(doc, 'line', { class: 'grid', x1: box.pad.l, x2: box.width - box.pad.r, y1: t.y, y2: t.y }));
    const label = svgEl(doc, 'text', { x: box.pad.l - 6, y: t.y + 4, 'text-anchor': 'end' });
    label.textContent = formatNumber(t.v);
    svg.append(label);
  }
  for (const t of m.xTicks) {
    const label = svgEl(doc, 'text', { x: t.x, y: box.height - 6, 'text-anchor': 'middle' });
    label.textContent = formatTime(t.t).slice(11, 16);
    svg.append(label);
  }
  svg.append(
    svgEl(doc, 'line', { class: 'axis', x1: box.pad.l, x2: box.pad.l, y1: box.pad.t, y2: box.height - box.pad.b }),
  );
  svg.append(
    svgEl(doc, 'line', {
      class: 'axis',
      x1: box.pad.l,
      x2: box.width - box.pad.r,
      y1: box.height - box.pad.b,
      y2: box.height - box.pad.b,
    }),
  );
  m.paths.forEach((p, i) => {
    svg.append(
      svgEl(doc, 'path', {
        class: 'series',
        d: p.d,
        fill: 'none',
        stroke: PALETTE[i % PALETTE.length] ?? '#000',
        'stroke-width': 2,
        'data-label': p.label,
      }),
    );
  });
  fig.append(svg);
  const legend = doc.createElement('ul');
  legend.className = 'legend';
  c.series.forEach((s, i) => {
    const li = doc.createElement('li');
    const sw = doc.createElement('span');
    sw.className = 'swatch';
    sw.style.background = PALETTE[i % PALETTE.length] ?? '#000';
    li.append(sw, s.label);
    legend.append(li);
  });
  fig.append(legend, dataTable(doc, c));
  return fig;
}

/** One sentence per series: its range of values, for screen readers. */
function summarise(series, lo, hi) {
  if (series.length === 0) return 'No data in this range.';
  return (
    series
      .map((s) => {
        const v = s.points.map((p) => p.v).filter((x) => x !== null && Number.isFinite(x));
        return v.length
          ? `${s.label}: ${v.length} points from ${formatNumber(Math.min(...v))} to ${formatNumber(Math.max(...v))}, last ${formatNumber(v[v.length - 1])}.`
          : `${s.label}: no values.`;
      })
      .join(' ') + ` Axis from ${formatNumber(lo)} to ${formatNumber(hi)}.`
  );
}

function dataTable(doc, c) {
  const det = doc.createElement('details');
  const sum = doc.createElement('summary');
  sum.textContent = 'Data table';
  const table = doc.createElement('table');
  const cap = doc.createElement('caption');
  cap.className = 'sr-only';
  cap.textContent = `${c.title}: values by time`;
  const times = [...new Set(c.series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const head = doc.createElement('tr');
  for (const h of ['Time (UTC)', ...c.series.map((s) => s.label)]) {
    const th = doc.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const thead = doc.createElement('thead');
  thead.append(head);
  const tbody = doc.createElement('tbody');
  const byT = c.series.map((s) => new Map(s.points.map((p) => [p.t, p.v])));
  for (const t of times) {
    const tr = doc.createElement('tr');
    const th = doc.createElement('th');
    th.scope = 'row';
    th.textContent = formatTime(t);
    tr.append(th);
    for (const m of byT) {
      const td = doc.createElement('td');
      td.className = 'num';
      const v = m.get(t);
      td.textContent = v === undefined || v === null ? '–' : formatNumber(v);
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(cap, thead, tbody);
  det.append(sum, table);
  return det;
}
