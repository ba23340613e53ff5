/**
 * Runs the built bins (dist/) as real child processes, the way they run in production, and
 * stops them reliably even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A field of a running process's /proc status (VmHWM: its peak resident set; VmRSS: now), in bytes. */
export async function procStatus(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
}

export const bins = {
  collector: `${repoRoot}packages/collector/bin/collector.js`,
  ingester: `${repoRoot}packages/ingester/dist/bin/ingester.js`,
  cli: `${repoRoot}packages/cli/dist/bin/edge-telemetry.js`,
} as const;

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far (for assertions and failure messages). */
  output(): string;
  /** Resolves with the first stdout/stderr line that matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function runNode(script: string, args: string[], env: Record<string, string> = {}): RunningProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.split('\n').find((l) => w.pattern.test(l));
      if (m !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    child,
    output: () => out,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const found = out.split('\n').find((l) => pattern.test(l));
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`)),
          timeoutMs,
        );
        const onExit = (code: number | null) =>
          reject(new Error(`process exited (${code}) before ${pattern}; output:\n${out}`));
        child.once('exit', onExit);
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve(line);
          },
        });
      }),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        // A clean stop flushes and closes stores and sessions: on a loaded machine (a CI run at load
        // 20) that took over 10 s, and the SIGKILL made a clean stop look like a failed one.
        const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill(signal);
      }),
  };
}

/**
 * `edge-telemetry args | head -1` (bash with pipefail, so the code is the command's), run to its
 * end: its exit code, the line head printed and what the command said on stderr. Its own process
 * group, killed whole when it has not ended within `timeoutMs` (a command that hangs on its closed
 * output fails the case with what it printed, and is not left running).
 */
export async function cliIntoHeadOne(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; out: string; err: string }> {
  const shell = spawn('bash', ['-o', 'pipefail', '-c', '"$@" | head -1', 'bash', process.execPath, bins.cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached: true,
  });
  let out = '';
  let err = '';
  shell.stdout.on('data', (d: Buffer) => (out += d.toString()));
  shell.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  shell.once('close', () => (closed = true));
  try {
    // 'close', not 'exit': after 'close' both pipes have been read to their end.
    const code = await Promise.race([
      new Promise<number | null>((resolve) => shell.once('close', resolve)),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`\`${args.join(' ')} | head -1\` did not end within ${timeoutMs} ms; out: ${out}; err: ${err}`),
            ),
          timeoutMs,
        );
      }),
    ]);
    return { code, out, err };
  } finally {
    clearTimeout(timer);
    // Not only while bash runs: a child of it that outlived it and holds a pipe keeps 'close' away.
    if (!closed && shell.pid !== undefined) killGroup(shell.pid);
  }
}

/** SIGKILL to process group `pid`; one already gone (ESRCH) is what was wanted. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * The ingester bin on its own embedded engine under `dir` (its config in dir/ingester.json, data
 * in dir/ch), or on a ClickHouse server when `clickhouseUrl` is given (passed as CLICKHOUSE_URL,
 * as in production), subscribed to `brokerUrl` with MQTT 5, once its API listens; `config` adds
 * options.
 */
export async function startIngesterBin(o: {
  dir: string;
  brokerUrl: string;
  clientId: string;
  token: string;
  clickhouseUrl?: string;
  config?: Record<string, unknown>;
}): Promise<{ proc: RunningProcess; api: string }> {
  const file = path.join(o.dir, 'ingester.json');
  await writeFile(
    file,
    JSON.stringify({
      mqtt: { url: o.brokerUrl, protocolVersion: 5, clientId: o.clientId },
      clickhouse: { dataDir: path.join(o.dir, 'ch') },
      ...o.config,
      // Port 0: the bin binds a free port at once and prints it. A port looked up beforehand could be
      // taken before the bin listened (seen: a simulator's outgoing connection took it).
      http: { ...(o.config?.http as object | undefined), port: 0 },
    }),
  );
  const proc = runNode(bins.ingester, ['--config', file], {
    EDGE_TELEMETRY_ADMIN_TOKEN: o.token,
    ...(o.clickhouseUrl ? { CLICKHOUSE_URL: o.clickhouseUrl } : {}),
  });
  try {
    // Migrations over HTTP and the broker's subscribe took over a minute with the machine's load at 20.
    const listening = /ingester API: http:\/\/\S+:(\d+)/;
    const port = listening.exec(await proc.waitFor(listening, 120_000))?.[1];
    return { proc, api: `http://127.0.0.1:${port}` };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
