// @ts-check
/**
 * Log-pull page: the request form (POST /api/v1/nodes/:node/log-pulls), progress by polling
 * GET /api/v1/log-pulls/:id, the lines streamed from /lines?follow=true, download and cancel.
 */
import { apiFetch, apiJson, describeError } from './api.js';
import { formatBytes, formatNumber } from './format.js';
import { createLineDecoder, pullProgress } from './lines.js';
import { initTokenForm, setStatus } from './shell.js';

const POLL_MS = 500;
/** Lines kept on screen; the download has every line. */
const SHOWN_LINES = 5000;

/**
 * The POST body from the form's values. Times go to the API as typed: it reads durations back
 * from now, ISO-8601 and epoch ms itself, so "15m" means 15 minutes before the ingester's clock.
 * @param {{ since: string, until: string, container: string, level: string, grep: string, tail: string, maxBytes: string }} f
 */
export function pullRequest(f) {
  const time = (v) => (/^\d+$/.test(v) ? Number(v) : v);
  return {
    since: time(f.since),
    ...(f.until ? { until: time(f.until) } : {}),
    ...(f.container ? { container: f.container } : {}),
    ...(f.level ? { level: f.level } : {}),
    ...(f.grep ? { grep: f.grep } : {}),
    ...(f.tail ? { tail: Number(f.tail) } : {}),
    ...(f.maxBytes ? { maxBytes: Number(f.maxBytes) } : {}),
  };
}

function main() {
  const doc = document;
  initTokenForm(doc);
  const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
  const val = (id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
  const form = /** @type {HTMLFormElement} */ ($('pull-form'));
  const status = $('status');
  const startBtn = /** @type {HTMLButtonElement} */ ($('start'));
  const cancelBtn = /** @type {HTMLButtonElement} */ ($('cancel'));
  const downloadBtn = /** @type {HTMLButtonElement} */ ($('download'));
  const progress = /** @type {HTMLProgressElement} */ ($('progress'));
  const facts = $('pull-facts');
  const out = $('lines');
  const lineCount = $('line-count');
  const preset = new URLSearchParams(location.search).get('node');
  if (preset) /** @type {HTMLInputElement} */ ($('node')).value = preset;

  /** Every line of the current pull, for the download. @type {string[]} */
  let lines = [];
  let pullId = '';
  /** @type {AbortController | undefined} */
  let running;

  void apiJson('/api/v1/nodes')
    .then((nodes) => $('node-list').replaceChildren(...nodes.map((n) => new Option(n.node))))
    .catch(() => {
      // The datalist is a convenience; the field still takes any name.
    });

  /** Lines in each text node on screen, oldest first, so old ones can be dropped whole. @type {number[]} */
  let shown = [];
  const appendLines = (more) => {
    if (more.length === 0) return;
    lines.push(...more);
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    out.append(doc.createTextNode(more.join('\n') + '\n'));
    shown.push(more.length);
    let total = shown.reduce((a, b) => a + b, 0);
    while (shown.length > 1 && total > SHOWN_LINES && out.firstChild) {
      out.firstChild.remove();
      total -= shown.shift() ?? 0;
    }
    if (atBottom) out.scrollTop = out.scrollHeight;
    lineCount.textContent = `(${formatNumber(lines.length)} received)`;
    downloadBtn.disabled = false;
  };

  const showProgress = (p) => {
    if (p.fraction === undefined) progress.removeAttribute('value');
    else progress.value = p.fraction;
    const rows = [
      ['Pull', pullId],
      ['State', p.state],
      ['Lines', formatNumber(p.lines)],
      [
        'Bytes',
        p.bytesExpected !== undefined
          ? `${formatBytes(p.bytes)} of ${formatBytes(p.bytesExpected)}`
          : formatBytes(p.bytes),
      ],
      ...(p.chunksExpected !== undefined ? [['Chunks', String(p.chunksExpected)]] : []),
      ...(p.error ? [['Error', p.error]] : []),
    ];
    facts.replaceChildren(
      ...rows.flatMap(([k, v]) => {
        const dt = doc.createElement('dt');
        dt.textContent = k;
        const dd = doc.createElement('dd');
        dd.textContent = v;
        dd.dataset.field = k.toLowerCase();
        return [dt, dd];
      }),
    );
  };

  const poll = async (id, signal) => {
    for (;;) {
      const p = pullProgress(await apiJson(`/api/v1/log-pulls/${encodeURIComponent(id)}`, { signal }));
      showProgress(p);
      if (p.done) return p;
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (signal.aborted) return p;
    }
  };

  const stream = async (id, signal) => {
    const res = await apiFetch(`/api/v1/log-pulls/${encodeURIComponent(id)}/lines?follow=true`, {
      signal,
      headers: { accept: 'text/plain' },
    });
    const decoder = createLineDecoder();
    if (!res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      appendLines(decoder.push(value));
    }
    appendLines(decoder.end());
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (running) return;
    const node = val('node');
    const body = pullRequest({
      since: val('since'),
      until: val('until'),
      container: val('container'),
      level: val('level'),
      grep: val('grep'),
      tail: val('tail'),
      maxBytes: val('max-bytes'),
    });
    lines = [];
    shown = [];
    out.replaceChildren();
    lineCount.textContent = '';
    downloadBtn.disabled = true;
    startBtn.disabled = true;
    setStatus(status, `Requesting logs from ${node}…`);
    running = new AbortController();
    const signal = running.signal;
    try {
      const created = await apiJson(`/api/v1/nodes/${encodeURIComponent(node)}/log-pulls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      pullId = String(created.id);
      cancelBtn.disabled = false;
      showProgress(pullProgress({ state: 'queued' }));
      setStatus(status, `Pull ${pullId} requested; lines appear as the node sends them.`);
      const [p] = await Promise.all([poll(pullId, signal), stream(pullId, signal)]);
      setStatus(
        status,
        p.error ? `Pull ${p.state}: ${p.error}` : `Pull ${p.state}: ${formatNumber(lines.length)} lines received.`,
        Boolean(p.error),
      );
    } catch (err) {
      if (!signal.aborted) setStatus(status, describeError(err), true);
    } finally {
      running = undefined;
      startBtn.disabled = false;
      cancelBtn.disabled = true;
    }
  });

  cancelBtn.addEventListener('click', async () => {
    const id = pullId;
    running?.abort();
    try {
      await apiFetch(`/api/v1/log-pulls/${encodeURIComponent(id)}`, { method: 'DELETE' });
      setStatus(status, `Pull ${id} cancelled; ${formatNumber(lines.length)} lines kept.`);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  });

  downloadBtn.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/plain' }));
    const a = doc.createElement('a');
    a.href = url;
    a.download = `${val('node') || 'node'}-${pullId || 'pull'}.log`;
    doc.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}

if (typeof document !== 'undefined') main();
