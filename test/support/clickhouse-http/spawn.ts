/**
 * Starts the test server (main.ts) as a child process, the way the tests and benches reach
 * ClickHouse over HTTP: its own engine in its own process, serving any number of ingester
 * processes. `urlFor` gives the URL an ingester's CLICKHOUSE_URL takes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ClickHouseHttpProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** A client URL with credentials and database: http://user:password@127.0.0.1:<port>/<database>. */
  urlFor(o?: { user?: string; password?: string; database?: string; port?: number }): string;
  output(): string;
  /** SIGTERM (then SIGKILL after 10 s); resolves when it exited. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  dataDir: string;
  databases?: string[];
  /** name -> password */
  users?: Record<string, string>;
  keepAliveTimeoutS?: number;
  keepAliveMaxRequests?: number;
  /** Threads for the engine calls in flight at once (the server waits on one per running query). */
  threadPoolSize?: number;
}

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

export async function spawnClickHouseHttp(o: SpawnOptions): Promise<ClickHouseHttpProcess> {
  const args = ['--import', 'tsx', main, '--data-dir', o.dataDir];
  for (const db of o.databases ?? []) args.push('--database', db);
  for (const [name, password] of Object.entries(o.users ?? {})) args.push('--user', `${name}:${password}`);
  if (o.keepAliveTimeoutS !== undefined) args.push('--keep-alive-timeout-s', String(o.keepAliveTimeoutS));
  if (o.keepAliveMaxRequests !== undefined) args.push('--keep-alive-max-requests', String(o.keepAliveMaxRequests));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, UV_THREADPOOL_SIZE: String(o.threadPoolSize ?? 32) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`test ClickHouse server did not start:\n${out}`)), 60_000);
    const onData = () => {
      const m = /clickhouse-http listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`test ClickHouse server exited (${code}):\n${out}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    child,
    pid: child.pid as number,
    url,
    port,
    urlFor: ({ user, password, database, port: p } = {}) => {
      const u = new URL(url);
      if (p !== undefined) u.port = String(p);
      if (user !== undefined) u.username = encodeURIComponent(user);
      if (password !== undefined) u.password = encodeURIComponent(password);
      if (database !== undefined) u.pathname = `/${database}`;
      return u.toString().replace(/\/$/, '');
    },
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
