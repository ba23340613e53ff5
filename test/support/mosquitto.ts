/**
 * Starts a real Mosquitto (Debian's `mosquitto`) on a free loopback port with the suite's own
 * configuration. Outside CI a missing binary skips the suite with a reason; with CI=true it fails,
 * because CI must run every broker test.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onFreePorts } from './on-free-ports.js';
import { waitFor } from './wait.js';

export interface Mosquitto {
  port: number;
  url: string;
  /** The ports asked for by `extraPorts`, for listeners of the caller's own. */
  extraPorts: number[];
  dir: string;
  /** The broker process while it runs (benches read its CPU time from /proc). */
  readonly pid: number | undefined;
  /** Stops the broker (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port, keeping its persistence file. */
  restart(): Promise<void>;
}

export interface MosquittoOptions {
  /** Extra lines appended to the generated config (listeners, ACLs, TLS). */
  extraConfig?: string;
  /** Replace the default `listener <port> 127.0.0.1` + `allow_anonymous true`; `extra` are `extraPorts`' ports. */
  listenerConfig?: (port: number, dir: string, extra: number[]) => string;
  /** How many more free ports `listenerConfig` needs (default 0): chosen again with the first when one was taken. */
  extraPorts?: number;
  persistence?: boolean;
  /**
   * Keep the inflight and queue limits the config sets (the shipped one's) instead of the suites'
   * defaults, no inflight limit and 100,000 queued messages, which come after it and would win.
   */
  ownQueueLimits?: boolean;
}

export function mosquittoBinary(): string | undefined {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']) {
    try {
      execFileSync(p, ['-h'], { stdio: 'ignore' });
      return p;
    } catch (err) {
      // `mosquitto -h` exits 3 after printing usage: the binary exists.
      if ((err as { status?: number }).status !== undefined) return p;
    }
  }
  return undefined;
}

/** True when the suite may run; throws in CI when Mosquitto is missing. */
export function haveMosquitto(): boolean {
  const bin = mosquittoBinary();
  if (!bin && process.env.CI)
    throw new Error('mosquitto is not installed; CI must install it (apt-get install -y mosquitto)');
  return bin !== undefined;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('mosquitto is not installed (apt-get install -y mosquitto)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'et-mosquitto-'));
  /** Writes the config for `port`; returns every listener it opens. */
  const configure = async (port: number, extra: number[]) => {
    const conf = [
      opts.listenerConfig ? opts.listenerConfig(port, dir, extra) : `listener ${port} 127.0.0.1\nallow_anonymous true`,
      opts.persistence === false ? 'persistence false' : `persistence true\npersistence_location ${dir}/`,
      opts.ownQueueLimits ? '' : 'max_inflight_messages 0\nmax_queued_messages 100000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      opts.extraConfig ?? '',
    ].join('\n');
    await writeFile(path.join(dir, 'mosquitto.conf'), conf + '\n');
    // Every listener the config opens, not only the first: a test may connect to any of them at once
    // (the shipped config's internal listener came up after the TLS one under load).
    return [...conf.matchAll(/^listener (\d+)/gm)].map((m) => Number(m[1]));
  };
  let ports: number[] = [];

  let child: ChildProcess | undefined;
  let stderr = '';
  const launch = async () => {
    stderr = '';
    child = spawn(bin, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const c = child;
    const exited = () => c.exitCode !== null || c.signalCode !== null;
    await waitFor(
      () => `mosquitto on ${ports.join(', ')} (it said: ${stderr})`,
      async () => exited() || (await Promise.all(ports.map((p) => listening(c.pid as number, p)))).every(Boolean),
      // A generous deadline: on a loaded machine starting the process alone can take seconds.
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    // Exited (e.g. a port taken since it was chosen): say why now, rather than hand out whatever
    // else listens there as this broker.
    if (exited()) throw new Error(`mosquitto exited (${c.exitCode ?? c.signalCode}): ${stderr}`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  let chosen: number[];
  try {
    chosen = await onFreePorts(1 + (opts.extraPorts ?? 0), async (picked) => {
      ports = await configure(picked[0] as number, picked.slice(1));
      try {
        await launch();
      } catch (err) {
        // Not left running after a start that timed out.
        await stop();
        throw err;
      }
      return picked;
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const port = chosen[0] as number;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    extraPorts: chosen.slice(1),
    dir,
    get pid() {
      return child?.pid;
    },
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

/**
 * True once the broker process `pid` holds a listening socket on `port`. Read from /proc rather
 * than by connecting: Mosquitto 2.0.11 takes one off a listener's client count twice for every
 * connection that ends, so each probe connection would raise that listener's max_connections by
 * one (a cap test then saw 33 held under a cap of 32).
 */
async function listening(pid: number, port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1]?.endsWith(`:${hexPort}`) && f[9] !== undefined) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1] as string)) return true;
  }
  return false;
}
