/**
 * `edge-telemetry logs pull --node <id> --since 2h [--container c] [--until t] [--grep s]
 * [--level l] [--tail n] [--max-bytes n] [--follow] [-o file] [--url u] [--token t]`: asks the
 * ingester's API for a node's full logs and writes them out. `logs pull --id <pull id>` attaches
 * to a pull already asked for (after a cut connection, a Ctrl-C, or from the web page) without
 * asking the node again: the pull goes on at the ingester, which keeps its lines for 24 h, and a
 * node behind a metered link should not send the same logs twice.
 *
 * `--from <n>` (with --id) skips the pull's first n lines: a cut --follow says how many it wrote,
 * so the same command with `--from` and `-o` on the same file appends the rest.
 *
 * Without --follow the lines are written once the pull is done (its digest checked by the
 * ingester), so a file is never left half-written by a pull that then fails; with --follow they are
 * streamed as they arrive. On a terminal, stderr shows a progress line (lines, bytes, rate, and the
 * ETA once the node has sent its totals); piped, only the lines go out. Exit 0 when the pull is
 * done, 1 with the reason when it failed, expired or was cancelled (or its output's reader went away:
 * a cut, with the --id hint), 2 on bad usage.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { LOG_LEVEL_NAMES, parseTimeSpec, PULL_ID_PATTERN, TIME_SPEC_HINT } from '@edge-telemetry/protocol';
import type { CommandIo } from './index.js';
import { apiFetch, apiToken, apiUrl } from '../api/api-client.js';
import { visibleCell, visibleControlsStream } from './terminal-text.js';
import { wholeLines } from './whole-lines.js';
import { writeOut as write } from './write-out.js';

const USAGE =
  'usage: edge-telemetry logs pull --node <id> --since <2h|ISO|ms> [--until t] [--container name] [--grep text] [--level info|warn|error|...] [--tail n] [--max-bytes n] [--follow] [-o file] [--url URL] [--token T]\n' +
  '       edge-telemetry logs pull --id <pull id> [--from n] [--follow] [-o file] [--url URL] [--token T]\n';
const PROGRESS_MS = 250;

export interface PullStatus {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'expired' | 'cancelled';
  linesReceived: number;
  bytesReceived: number;
  bytesExpected?: number;
  error?: string;
}

export interface PullArgs {
  url: string;
  token: string | undefined;
  node: string;
  body: Record<string, string | number>;
  /** A pull already asked for, to attach to instead of asking the node. */
  id?: string;
  /** Lines of that pull to skip (a cut run wrote them already); 0 for a new pull. */
  from: number;
  follow: boolean;
  output: string | undefined;
}

/** The options `logs pull` takes (the top-level usage lists each). */
export const LOGS_PULL_OPTIONS = {
  node: { type: 'string' },
  id: { type: 'string' },
  from: { type: 'string' },
  container: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  grep: { type: 'string' },
  level: { type: 'string' },
  tail: { type: 'string' },
  'max-bytes': { type: 'string' },
  follow: { type: 'boolean', default: false },
  output: { type: 'string', short: 'o' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export function parsePullArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): PullArgs {
  const { values } = parseArgs({ args: argv, options: LOGS_PULL_OPTIONS });
  // Where to ask and where to write, the same for a new pull and an attach; read after the
  // request's own checks, so their errors come first as before.
  const common = () => ({
    url: apiUrl(values.url, env),
    token: apiToken(values.token, env),
    follow: values.follow ?? false,
    output: values.output,
  });
  if (values.id !== undefined) {
    const attach = attachArgs(values);
    return { ...common(), ...attach };
  }
  if (values.from !== undefined) throw new Error('--from resumes a pull already asked for: give it with --id');
  if (!values.node) throw new Error('--node is required');
  if (!values.since) throw new Error('--since is required (e.g. --since 2h)');
  for (const k of ['since', 'until'] as const) {
    const v = values[k];
    if (v !== undefined && parseTimeSpec(v, Date.now()) === undefined)
      throw new Error(`--${k} ${v}: not a time (${TIME_SPEC_HINT})`);
  }
  if (values.level !== undefined && !(LOG_LEVEL_NAMES as readonly string[]).includes(values.level))
    throw new Error(`--level must be one of ${LOG_LEVEL_NAMES.join(', ')}`);
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name} must be a positive integer`);
    return Number(v);
  };
  const tail = int(values.tail, '--tail');
  const maxBytes = int(values['max-bytes'], '--max-bytes');
  const body: Record<string, string | number> = { since: values.since };
  if (values.until !== undefined) body.until = values.until;
  if (values.container !== undefined) body.container = values.container;
  if (values.grep !== undefined) body.grep = values.grep;
  if (values.level !== undefined) body.level = values.level;
  if (tail !== undefined) body.tail = tail;
  if (maxBytes !== undefined) body.maxBytes = maxBytes;
  return { ...common(), node: values.node, body, from: 0 };
}

/** The options that make a request, which an attach to an existing pull cannot take. */
const REQUEST_OPTIONS = ['node', 'container', 'since', 'until', 'grep', 'level', 'tail', 'max-bytes'] as const;

function attachArgs(
  values: ReturnType<typeof parseArgs<{ options: typeof LOGS_PULL_OPTIONS }>>['values'],
): Pick<PullArgs, 'node' | 'body' | 'id' | 'from'> {
  const id = values.id ?? '';
  const from = values.from ?? '0';
  if (!/^\d+$/.test(from) || !Number.isSafeInteger(Number(from)))
    throw new Error(`--from ${from}: not a line count (0 or more)`);
  if (!PULL_ID_PATTERN.test(id)) throw new Error(`--id ${id}: not a pull id (letters, digits, _ and -)`);
  const given = REQUEST_OPTIONS.filter((k) => values[k] !== undefined);
  if (given.length > 0)
    throw new Error(`--id attaches to a pull already asked for; it takes no ${given.map((k) => `--${k}`).join(', ')}`);
  return { node: '', body: {}, id, from: Number(from) };
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];
function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${UNITS[u]}`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/** One progress line: bar and ETA once the total is known (the node's `end`), else the rate alone. */
export function formatProgress(s: PullStatus, elapsedMs: number, width = 24): string {
  const rate = elapsedMs > 0 ? (s.bytesReceived * 1000) / elapsedMs : 0;
  const head = `${s.state.padEnd(9)} ${s.linesReceived.toLocaleString('en-US')} lines  ${bytes(s.bytesReceived)}  ${bytes(rate)}/s`;
  if (s.bytesExpected === undefined || s.bytesExpected === 0) return head;
  const f = Math.min(1, s.bytesReceived / s.bytesExpected);
  const filled = Math.round(f * width);
  const eta = rate > 0 ? duration(((s.bytesExpected - s.bytesReceived) * 1000) / rate) : '?';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%  ${head}  ETA ${eta}`;
}

const reattach = (id: string, from = 0) =>
  `if this stops, get its lines again with: edge-telemetry logs pull --id ${id}${from > 0 ? ` --from ${from}` : ''}`;

async function status(a: PullArgs, id: string): Promise<PullStatus> {
  return (await (await apiFetch(a, `/api/v1/log-pulls/${id}`)).json()) as PullStatus;
}

/** Writes the pull's lines from line `a.from`, counting them in `written.lines` (where a cut run resumes). */
async function copyLines(
  a: PullArgs,
  id: string,
  follow: boolean,
  out: Writable,
  beforeWrite: () => void,
  written: { lines: number },
): Promise<void> {
  const query = new URLSearchParams({
    ...(follow ? { follow: 'true' } : {}),
    ...(a.from > 0 ? { from: String(a.from) } : {}),
  }).toString();
  const res = await apiFetch(a, `/api/v1/log-pulls/${id}/lines${query ? `?${query}` : ''}`, {
    headers: { accept: 'text/plain' },
  });
  if (!res.body) return;
  // On a terminal the lines' control characters are shown, not obeyed (terminal-text.ts).
  const shown = (out as Writable & { isTTY?: boolean }).isTTY === true ? visibleControlsStream() : undefined;
  // Whole lines only: the count is where a cut run resumes, so a cut must not leave a part-line.
  const lines = wholeLines();
  for await (const part of res.body) {
    beforeWrite();
    const whole = lines.write(part as Uint8Array);
    if (whole.lines === 0) continue;
    await write(out, shown ? shown.write(whole.bytes) : whole.bytes);
    written.lines += whole.lines;
  }
  const last = lines.end();
  if (last.length > 0) await write(out, shown ? shown.write(last) : last);
  if (shown) await write(out, shown.end());
}

export async function runLogsPull(
  argv: string[],
  io: CommandIo,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  let a: PullArgs;
  try {
    a = parsePullArgs(argv, env);
  } catch (err) {
    io.stderr.write(`ET_ERR_USAGE: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const tty = (io.stderr as Writable & { isTTY?: boolean }).isTTY === true;
  // Resuming (--from), the lines before are in the file already: append.
  const out: Writable = a.output ? createWriteStream(a.output, { flags: a.from > 0 ? 'a' : 'w' }) : io.stdout;
  const written = { lines: a.from };
  const started = Date.now();
  let shown = false;
  const clear = () => {
    if (shown) io.stderr.write('\r\x1b[2K');
    shown = false;
  };
  let timer: NodeJS.Timeout | undefined;
  let id = a.id;
  try {
    id ??= (
      (await (
        await apiFetch(a, `/api/v1/nodes/${encodeURIComponent(a.node)}/log-pulls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(a.body),
        })
      ).json()) as { id: string }
    ).id;
    const pullId = id;
    // On a terminal the id is said at once, so a Ctrl-C does not lose the pull; piped, stderr stays quiet.
    if (tty && a.id === undefined) io.stderr.write(`pull ${id} asked for; ${reattach(id)}\n`);
    if (tty) {
      timer = setInterval(() => {
        status(a, pullId).then(
          (s) => {
            io.stderr.write(`\r\x1b[2K${formatProgress(s, Date.now() - started)}`);
            shown = true;
          },
          () => undefined,
        );
      }, PROGRESS_MS);
    }
    if (a.follow) await copyLines(a, pullId, true, out, clear, written);
    let s = await status(a, pullId);
    while (!a.follow && (s.state === 'queued' || s.state === 'running')) {
      await new Promise((r) => setTimeout(r, PROGRESS_MS));
      s = await status(a, pullId);
    }
    if (timer) clearInterval(timer);
    clear();
    if (s.state === 'queued' || s.state === 'running') {
      // A follow stream cut before the pull ended (the ingester stopped, a proxy's timeout).
      io.stderr.write(`pull ${pullId} still ${s.state} when the stream ended; ${reattach(pullId, written.lines)}\n`);
      return 1;
    }
    if (s.state !== 'done') {
      io.stderr.write(endedLine(id, s.state, s.error));
      return 1;
    }
    if (!a.follow) await copyLines(a, pullId, false, out, clear, written);
    if (tty)
      io.stderr.write(
        `pull ${id} done: ${s.linesReceived.toLocaleString('en-US')} lines, ${bytes(s.bytesReceived)} in ${duration(Date.now() - started)}\n`,
      );
    return 0;
  } catch (err) {
    if (timer) clearInterval(timer);
    clear();
    // A cut while waiting or reading a pull asked for here: the pull itself goes on at the ingester.
    const hint =
      id !== undefined && (a.id === undefined || written.lines > a.from)
        ? `\npull ${id}: ${reattach(id, written.lines)}`
        : '';
    io.stderr.write(`${(err as Error).message}${hint}\n`);
    return 1;
  } finally {
    if (a.output) await new Promise<void>((resolve) => out.end(resolve));
  }
}

/**
 * The line that says why a pull did not end `done`. Its reason may be the node's own text (a pull's
 * end error, kept by the ingester as `ET_ERR_PULL_NODE: <text>`), so its control characters are
 * shown as `\xNN`: a node could otherwise write a clipboard (OSC 52) or clear the engineer's screen.
 */
export function endedLine(id: string, state: string, error: string | undefined): string {
  return `pull ${id} ${state}: ${visibleCell(error ?? 'no reason given')}\n`;
}
