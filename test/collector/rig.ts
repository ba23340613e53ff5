/**
 * The real collector bin over a Docker root of json-file logs, for the backlog, SIGKILL and
 * disk-full tests and the backlog benchmark: its config file, its process (optionally inside a
 * cgroup with the gateway's limits), its /metrics read as numbers, and what it left on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LogStore, logStoreOptions, type StoredLogRecord } from '@edge-telemetry/collector';
import { createCgroup, type Cgroup, type CgroupLimits } from '../support/cgroup.js';
import { liveWriter, writeJsonFileBacklog, type Backlog } from '../support/json-file-backlog.js';
import { bins } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import type { Mosquitto } from '../support/mosquitto.js';
import type { Acker } from '../uplink/acker.js';

export interface CollectorRun {
  child: ChildProcess;
  /** http://127.0.0.1:<port> of /metrics and /healthz once the collector said it listens; undefined before. */
  httpUrl(): string | undefined;
  /** The OTLP/HTTP receiver's base URL once the collector said it listens, when `sources.otlp` is on. */
  otlpUrl(): string | undefined;
  output(): string;
  /** The value of a collector metric on /metrics (`logs.backlog_bytes` reads `collector_logs_backlog_bytes`), or undefined (also before it listens). */
  metric(name: string): Promise<number | undefined>;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunOptions {
  /** Folder for the config file and the data dir (`<dir>/data`) unless `dataDir` says otherwise. */
  dir: string;
  dataDir?: string;
  node: string;
  dockerRoot: string;
  brokerUrl: string;
  /** Over the defaults below, section by section. */
  config?: Record<string, unknown>;
  cgroup?: Cgroup;
  /** Extra node flags (V8 heap size, --cpu-prof). */
  nodeArgs?: string[];
  /** Environment over this process's own. */
  env?: Record<string, string>;
  /** The node binary to run it with (default: this process's). */
  nodeBin?: string;
}

export async function runCollector(o: RunOptions): Promise<CollectorRun> {
  // A name of its own: several runs may share `dir`.
  const file = path.join(o.dir, `collector-${randomUUID()}.json`);
  const config = {
    node: o.node,
    dataDir: o.dataDir ?? path.join(o.dir, 'data'),
    // Port 0: bound at once and told over the IPC channel below. A port looked up beforehand could
    // be taken by another process before the collector bound it, and it exited at start.
    http: { port: 0 },
    sources: {
      docker: { enabled: false },
      logFiles: { enabled: true, dockerRoot: o.dockerRoot, podsRoot: '', readFromHead: true, pollIntervalMs: 200 },
    },
    uplink: { mqtt: { url: o.brokerUrl, reconnectMinMs: 200, reconnectMaxMs: 2000 } },
    ...o.config,
  };
  await writeFile(file, JSON.stringify(config));
  const args = [...(o.nodeArgs ?? []), bins.collector, '--config', file];
  const opts = {
    // The channel is how the bin says where it listens (its `ready` message, as to `edge-telemetry start`).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as ['ignore', 'pipe', 'pipe', 'ipc'],
    cwd: o.dir,
    env: { ...process.env, ...o.env },
  };
  const node = o.nodeBin ?? process.execPath;
  const child = o.cgroup ? o.cgroup.spawn(node, args, opts) : spawn(node, args, opts);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let httpUrl: string | undefined;
  let otlpUrl: string | undefined;
  child.on('message', (m: unknown) => {
    const ready = m as { type?: string; httpUrl?: string; otlpUrl?: string };
    if (ready.type !== 'ready') return;
    if (ready.httpUrl) httpUrl = `http://127.0.0.1:${new URL(ready.httpUrl).port}`;
    if (ready.otlpUrl) otlpUrl = ready.otlpUrl;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    httpUrl: () => httpUrl,
    otlpUrl: () => otlpUrl,
    output: () => out,
    exited,
    metric: async (name) => {
      if (httpUrl === undefined) return undefined;
      const text = await fetch(`${httpUrl}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      const re = new RegExp(`^collector_${name.replace(/\./g, '_')}(?:_total)?(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm');
      const m = re.exec(text);
      return m ? Number(m[1]) : undefined;
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      // Tests assert a clean stop (code 0): give it what a loaded machine takes, in a cgroup of a
      // fifth of a core too (processes.ts allows the bins 45 s for the same reason).
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Waits until the collector has read every log file to its end. `backlog_bytes` is measured at
 * each poll, so a line written since the last poll is not in it yet: a test that knows how many
 * json-file entries it wrote passes `entries`, and this waits for that many lines read as well
 * (the gauge is also 0 before the first poll has sized the files: seen 2 s after start).
 * `intervalMs`: how often it asks /metrics; each answer costs the collector CPU (see the bench).
 */
export async function caughtUp(run: CollectorRun, timeoutMs: number, entries = 1, intervalMs = 250): Promise<void> {
  await waitFor(
    () => `the collector to read its backlog (${entries} lines); output:\n${run.output().slice(-3000)}`,
    async () => {
      if (run.child.exitCode !== null) throw new Error(`collector exited (${run.child.exitCode})`);
      return (await run.metric('logs.backlog_bytes')) === 0 && ((await run.metric('logs.lines_read')) ?? 0) >= entries;
    },
    { timeoutMs, intervalMs },
  );
}

/** Every line the full-log store under `dataDir` holds (open it only once the collector is gone). */
export async function storedLines(dataDir: string): Promise<StoredLogRecord[]> {
  const store = await LogStore.open(logStoreOptions({ dir: path.join(dataDir, 'logs') }));
  const out: StoredLogRecord[] = [];
  for await (const r of store.query({ since: 0 })) out.push(r);
  await store.close();
  return out;
}

/** The `seq=<n>` every generated event carries (test/support/json-file-backlog.ts). */
export function seqOf(text: string): number | undefined {
  const m = /"?seq"?[=:](\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface BacklogInCgroup {
  /** Container `app`: a seeded json-file backlog whose lines lie in the half hour before now. */
  backlog: Backlog;
  cgroup: Cgroup;
  run: CollectorRun;
  /** What container `live` was written while the backlog was read. */
  live: Backlog[];
}

/**
 * The budget tests' scene: a backlog of `bytes` in container `app`, the real collector bin in a
 * cgroup `cgroupName` with `limits`, and live lines written to container `live` until the backlog
 * has been read (`caughtUp`). `onStarted` gets the cgroup and the run before any wait, so the
 * caller can clean them up when a wait times out.
 */
export async function readBacklogInCgroup(o: {
  dir: string;
  node: string;
  brokerUrl: string;
  cgroupName: string;
  limits: CgroupLimits;
  bytes: number;
  windowMs: number;
  timeoutMs: number;
  nodeArgs?: string[];
  onStarted(cgroup: Cgroup, run: CollectorRun, backlog: Backlog): void;
}): Promise<BacklogInCgroup> {
  const root = path.join(o.dir, 'containers');
  const backlog = await writeJsonFileBacklog({
    root,
    name: 'app',
    bytes: o.bytes,
    startMs: Date.now() - 30 * 60_000,
    linesPerSecond: 50,
    windowMs: o.windowMs,
  });
  const cgroup = await createCgroup(o.cgroupName, o.limits);
  const run = await runCollector({
    dir: o.dir,
    node: o.node,
    dockerRoot: root,
    brokerUrl: o.brokerUrl,
    cgroup,
    config: { scrapeIntervalMs: 1000, downsample: { windowMs: o.windowMs } },
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
  });
  o.onStarted(cgroup, run, backlog);
  const writer = liveWriter({
    root,
    name: 'live',
    bytes: 1500,
    everyMs: 250,
    firstSeq: 10_000_000,
    windowMs: o.windowMs,
  });
  let live: Backlog[];
  try {
    await caughtUp(run, o.timeoutMs, backlog.entries);
  } finally {
    live = await writer.stop();
  }
  return { backlog, cgroup, run, live };
}

/** The `seq` of every line the store under `dataDir` holds, by container (see storedLines). */
export async function storedSeqs(dataDir: string): Promise<Map<string, Array<number | undefined>>> {
  const out = new Map<string, Array<number | undefined>>();
  for (const l of await storedLines(dataDir)) {
    const list = out.get(l.container) ?? [];
    list.push(seqOf(l.line));
    out.set(l.container, list);
  }
  return out;
}

/** A cgroup test's teardown: whatever of these it got to start, stopped and removed. */
export async function tearDown(o: {
  run?: CollectorRun;
  cgroup?: Cgroup;
  acker?: Acker;
  broker?: Mosquitto;
  /** The broker and ingester rig (test/support/stack.ts), where a test uses it instead. */
  stack?: { close(): Promise<void> };
  dir?: string;
}): Promise<void> {
  await o.run?.stop('SIGKILL');
  await o.cgroup?.remove();
  await o.acker?.close();
  await o.broker?.stop();
  await o.stack?.close();
  if (o.dir) await rm(o.dir, { recursive: true, force: true });
}
