// @ts-check
/**
 * Log-pull page: the request form (POST /api/v1/nodes/:node/log-pulls) or `?pull=<id>` to attach
 * to a pull already made (running or ended, by this page, the CLI or another engineer), progress by
 * polling GET /api/v1/log-pulls/:id, the lines streamed from /lines?follow=true (from the newest
 * SHOWN_LINES of those already in, when attaching), download and
 * cancel. The tab keeps no copy of the pull: the newest lines are on screen, and the download
 * reads the whole pull again from the API.
 */
import { ApiError, apiFetch, apiJson, describeError } from './api.js';
import { formatBytes, formatNumber } from './format.js';
import { createLineDecoder, dropLines, pullProgress } from './lines.js';
import { initTokenForm, setStatus } from './shell.js';

const POLL_MS = 500;
/** Between attempts while the ingester cannot be reached: from the first, doubling to the last. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

/**
 * A pull's lines stream that ended cleanly short of the ended pull's lines: an ingester that was
 * stopping ends it so on some paths. Opened again from the lines received, as a cut one is.
 */
export class EndedShort extends Error {}

/**
 * A failure that another attempt may not meet: the ingester restarting (no connection, a stream
 * cut or ended short) or a proxy in front of it saying so (502-504). A refusal by the API itself
 * (401 after a restart that made a new token, 404) is not: trying again would get the same answer.
 * @param {unknown} err
 */
export function isTransient(err) {
  if (err instanceof EndedShort) return true;
  if (err instanceof ApiError) return err.status === 502 || err.status === 503 || err.status === 504;
  // fetch's "Failed to fetch" and a body cut mid-stream ("network error") are TypeErrors.
  return err instanceof TypeError;
}

/**
 * `attempt` until it succeeds or fails for good (not transient, or `signal` aborted). The wait
 * between attempts doubles from RETRY_MIN_MS to RETRY_MAX_MS and starts again from RETRY_MIN_MS
 * after an attempt that made progress (`progress()` grew): a long pull cut now and then by
 * restarts is not made to wait the longest each time. An EndedShort that brought no progress since
 * the one before is the end: the stream has nothing more to give, so it resolves undefined.
 * @template T
 * @param {() => Promise<T>} attempt
 * @param {{ signal: AbortSignal, progress?: () => number, onRetry: (err: unknown) => void,
 *   sleep: (ms: number) => Promise<void> }} deps
 * @returns {Promise<T | undefined>}
 */
export async function retrying(attempt, { signal, progress = () => 0, onRetry, sleep }) {
  let wait = RETRY_MIN_MS;
  let before = progress();
  let shortAt = -1;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted || !isTransient(err)) throw err;
      const now = progress();
      if (err instanceof EndedShort) {
        if (now <= shortAt) return undefined;
        shortAt = now;
      }
      if (now > before) wait = RETRY_MIN_MS;
      before = now;
      onRetry(err);
      await sleep(wait);
      if (signal.aborted) throw signal.reason;
      wait = Math.min(2 * wait, RETRY_MAX_MS);
    }
  }
}
/**
 * Lines kept on screen, the newest: enough to read what led up to the end of a pull, and a bound on
 * the tab whatever the pull's size (a node's full logs are easily hundreds of MiB, which a tab
 * holding every line, as this page once did, cannot take). Every line is in the download.
 */
export const SHOWN_LINES = 5000;

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
  const params = new URLSearchParams(location.search);
  const preset = params.get('node');
  if (preset) /** @type {HTMLInputElement} */ ($('node')).value = preset;

  /** Lines of the current pull received, of which the newest SHOWN_LINES are on screen. */
  let received = 0;
  let pullId = '';
  let pullNode = '';
  /** @type {AbortController | undefined} */
  let running;
  /** The pull being shown, settled once the page has let go of it. */
  let shownPull = Promise.resolve();

  void apiJson('/api/v1/nodes')
    .then((nodes) => $('node-list').replaceChildren(...nodes.map((n) => new Option(n.node))))
    .catch(() => {
      // The datalist is a convenience; the field still takes any name.
    });

  /** Lines in each text node on screen, oldest first: old ones leave whole, or cut at the front. @type {number[]} */
  let shown = [];
  let onScreen = 0;
  const appendLines = (more) => {
    if (more.length === 0) return;
    received += more.length;
    const kept = more.length > SHOWN_LINES ? more.slice(-SHOWN_LINES) : more;
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    out.append(doc.createTextNode(kept.join('\n') + '\n'));
    shown.push(kept.length);
    onScreen += kept.length;
    while (onScreen > SHOWN_LINES) {
      const first = /** @type {Text} */ (out.firstChild);
      const excess = onScreen - SHOWN_LINES;
      const n = shown[0] ?? 0;
      if (n <= excess) {
        first.remove();
        shown.shift();
        onScreen -= n;
      } else {
        first.data = dropLines(first.data, excess);
        shown[0] = n - excess;
        onScreen -= excess;
      }
    }
    if (atBottom) out.scrollTop = out.scrollHeight;
    lineCount.textContent =
      received > onScreen
        ? `(${formatNumber(received)} received, the last ${formatNumber(onScreen)} shown)`
        : `(${formatNumber(received)} received)`;
    downloadBtn.disabled = false;
  };

  const showProgress = (p) => {
    if (p.fraction === undefined) progress.removeAttribute('value');
    else progress.value = p.fraction;
    const rows = [
      ['Pull', pullId],
      ...(p.node ? [['Node', p.node]] : []),
      ...(p.requestedBy ? [['Requested by', p.requestedBy]] : []),
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
        dd.dataset.field = k.toLowerCase().replace(/ /g, '-');
        return [dt, dd];
      }),
    );
    cancelBtn.disabled = p.done;
  };

  /** Set while the ingester could not be reached, until a status read says it is back. */
  let lost = false;
  /**
   * While the ingester cannot be reached (a restart, a deployment) the page says so and tries
   * again, rather than stopping at "Failed to fetch" until a reload; the pull itself goes on at the
   * node and the ingester meanwhile. A stream that ended cleanly short reached the ingester: no
   * such status for it.
   * @template T @param {() => Promise<T>} attempt @param {AbortSignal} signal
   * @param {() => number} [progress]
   */
  const tryAgain = (attempt, signal, progress) =>
    retrying(attempt, {
      signal,
      progress,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      onRetry: (err) => {
        if (err instanceof EndedShort) return;
        lost = true;
        setStatus(status, `The ingester cannot be reached (${describeError(err)}); trying again…`, true);
      },
    });
  const poll = async (id, signal) => {
    for (;;) {
      const p = pullProgress(
        await tryAgain(() => apiJson(`/api/v1/log-pulls/${encodeURIComponent(id)}`, { signal }), signal),
      );
      if (lost) setStatus(status, `Reconnected to the ingester: pull ${id} goes on.`);
      lost = false;
      showProgress(p);
      if (p.done) return p;
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (signal.aborted) return p;
    }
  };

  /**
   * The pull's lines from line `received` on (lines before the page attached would not stay on
   * screen), as they come, until the page has every line of the ended pull (`ended`: poll's last
   * progress). A stream cut or refused by a restarting ingester is opened again from the lines
   * received, so none is shown twice or missed; so is one that ended cleanly short of them
   * (EndedShort), while each such end comes with more than the one before: all through `retrying`.
   * @param {string} id @param {AbortSignal} signal @param {Promise<{ lines: number }>} ended
   */
  const stream = (id, signal, ended) =>
    tryAgain(
      async () => {
        const res = await apiFetch(
          `/api/v1/log-pulls/${encodeURIComponent(id)}/lines?follow=true${received > 0 ? `&from=${received}` : ''}`,
          { signal, headers: { accept: 'text/plain' } },
        );
        // Each attempt has its own decoder: a line cut by a failure is read whole by the next.
        const decoder = createLineDecoder();
        if (res.body) {
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            appendLines(decoder.push(value));
          }
          appendLines(decoder.end());
        }
        if (signal.aborted) return;
        const lines = (await ended).lines;
        if (received >= lines) return;
        throw new EndedShort(`the pull's lines stream ended at line ${received} of ${lines}`);
      },
      signal,
      () => received,
    );

  /**
   * Runs one pull on the page: `begin` (make it, or look it up) gives its id and first status, then
   * its progress and lines until it ends. The address says the pull, so a reload attaches to it.
   * `from`: lines received before the page attached that it skips (only the newest are shown).
   * @param {string} asking @param {(signal: AbortSignal) => Promise<{ id: string, node: string, from?: number }>} begin
   */
  const show = (asking, begin) => {
    if (running) return;
    shownPull = run(asking, begin);
  };
  /** @param {string} asking @param {(signal: AbortSignal) => Promise<{ id: string, node: string, from?: number }>} begin */
  const run = async (asking, begin) => {
    received = 0;
    shown = [];
    onScreen = 0;
    out.replaceChildren();
    lineCount.textContent = '';
    downloadBtn.disabled = true;
    startBtn.disabled = true;
    setStatus(status, asking);
    running = new AbortController();
    const signal = running.signal;
    try {
      const pull = await begin(signal);
      pullId = pull.id;
      pullNode = pull.node;
      history.replaceState(null, '', `?pull=${encodeURIComponent(pullId)}`);
      received = pull.from ?? 0;
      const ended = poll(pullId, signal);
      const [p] = await Promise.all([ended, stream(pullId, signal, ended)]);
      setStatus(
        status,
        p.error ? `Pull ${p.state}: ${p.error}` : `Pull ${p.state}: ${formatNumber(received)} lines received.`,
        Boolean(p.error),
      );
    } catch (err) {
      if (!signal.aborted) setStatus(status, describeError(err), true);
    } finally {
      running = undefined;
      startBtn.disabled = false;
      cancelBtn.disabled = true;
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
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
    show(`Requesting logs from ${node}…`, async (signal) => {
      const created = await apiJson(`/api/v1/nodes/${encodeURIComponent(node)}/log-pulls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      const id = String(created.id);
      pullId = id;
      showProgress(pullProgress({ state: 'queued', node }));
      setStatus(status, `Pull ${id} requested; lines appear as the node sends them.`);
      return { id, node };
    });
  });

  const attach = params.get('pull');
  if (attach)
    show(`Looking up pull ${attach}…`, async (signal) => {
      const s = await apiJson(`/api/v1/log-pulls/${encodeURIComponent(attach)}`, { signal });
      const node = String(s.node);
      /** @type {HTMLInputElement} */ ($('node')).value = node;
      pullId = String(s.id);
      showProgress(pullProgress(s));
      setStatus(status, `Pull ${pullId} of ${node}, requested by ${s.requestedBy}: lines appear as they arrive.`);
      // Of the lines in already, only the newest SHOWN_LINES would stay on screen: only those are read
      // (an ended pull of a million lines streamed every one through the tab).
      return { id: pullId, node, from: Math.max(0, Number(s.linesReceived) - SHOWN_LINES) };
    });

  cancelBtn.addEventListener('click', async () => {
    const id = pullId;
    try {
      // Refused (another engineer's pull), the page goes on following it.
      await apiFetch(`/api/v1/log-pulls/${encodeURIComponent(id)}`, { method: 'DELETE' });
      running?.abort();
      await shownPull;
      setStatus(status, `Pull ${id} cancelled; ${formatNumber(received)} lines received.`);
    } catch (err) {
      setStatus(status, describeError(err), true);
    }
  });

  // The whole pull as the API has it stored, read again (the page keeps only the newest lines). A
  // Blob is held by the browser outside the page's heap (Chromium and Firefox move a large one to
  // disk); a plain link could not carry the bearer token.
  downloadBtn.addEventListener('click', async () => {
    const id = pullId;
    downloadBtn.disabled = true;
    try {
      const res = await apiFetch(`/api/v1/log-pulls/${encodeURIComponent(id)}/lines`, {
        headers: { accept: 'text/plain' },
      });
      const url = URL.createObjectURL(await res.blob());
      const a = doc.createElement('a');
      a.href = url;
      a.download = `${pullNode || 'node'}-${id || 'pull'}.log`;
      doc.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setStatus(status, describeError(err), true);
    } finally {
      downloadBtn.disabled = false;
    }
  });
}

if (typeof document !== 'undefined') main();
