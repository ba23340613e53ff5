/**
 * The real collector bin as the collector benches run it (collector.backlog, .backlog_loghub,
 * .exited_containers): in a cgroup with the gateway's budget (128 MiB, 0.2 CPU), started with the
 * launcher's node flags and malloc settings, its uplink to a real Mosquitto where a stand-in
 * ingester (test/uplink/acker.ts) acknowledges and decodes every batch; and the plain Node reader
 * they are measured against.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchEnv, launchFlags } from '@edge-telemetry/collector';
import { createCgroup, cgroupVersion, type Cgroup } from '../../test/support/cgroup.js';
import { startMosquitto, type Mosquitto } from '../../test/support/mosquitto.js';
import { startAcker, type Acker } from '../../test/uplink/acker.js';
import { runCollector, type CollectorRun } from '../../test/collector/rig.js';
export { procStatus } from '../../test/support/processes.js';

const LIMITS = { memoryBytes: 128 * 2 ** 20, cpus: 0.2 };
/** As docker/compose.edge.yml and the K3s manifest start it (NODE_OPTIONS) for that limit. */
export const NODE_ARGS = launchFlags(LIMITS.memoryBytes);
/** And the malloc settings bin/launch.sh exports for it (launchEnv). */
export const NODE_ENV = launchEnv(LIMITS.memoryBytes);
/** How the figures' notes say it was started. */
export const STARTED = [...Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...NODE_ARGS].join(' ');
export const MIB = 2 ** 20;
/**
 * How often the measured run's /metrics is asked whether reading has caught up. Each answer costs
 * the collector ~1.7 ms of CPU (the whole exposition rendered): asked every 250 ms, as the tests
 * do, that was ~3 % of the backlog's CPU (side by side over 200 MiB: 7.35 against 7.11 CPU-s),
 * where a Prometheus scraping every 15 s costs 0.1 %. Every 2 s, the end of reading is known to 2 s.
 */
export const CAUGHT_UP_POLL_MS = 2000;

/** The plain reader the collector is measured against: read, split, JSON.parse, grep, write. */
const PLAIN_READER = `
const fs = require('node:fs');
const [file, out] = process.argv.slice(1);
const w = fs.createWriteStream(out);
let rest = '', lines = 0, matched = 0;
const re = /WARN|ERROR|warn|error/;
fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 65536 })
  .on('data', (chunk) => {
    const parts = (rest + chunk).split('\\n');
    rest = parts.pop();
    for (const p of parts) {
      if (p === '') continue;
      lines++;
      const e = JSON.parse(p);
      if (re.test(e.log)) { matched++; w.write(e.time + ' ' + e.log); }
    }
  })
  .on('end', () => w.end(() => {
    const ru = process.resourceUsage();
    process.stdout.write(JSON.stringify({ lines, matched, maxRssKiB: ru.maxRSS }));
  }));
`;

/** Samples the cgroup's anonymous memory (v1 `rss`, v2 `anon` of memory.stat): the process's own pages, no page cache. */
export function anonSampler(cg: Cgroup): { peak(): number; stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    readFile(path.join(cg.dirs[0] as string, 'memory.stat'), 'utf8').then(
      (t) => (peak = Math.max(peak, Number(/^(?:rss|anon) (\d+)$/m.exec(t)?.[1] ?? 0))),
      () => undefined,
    );
  }, 250);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export async function inCgroup<T>(name: string, fn: (cg: Cgroup) => Promise<T>): Promise<{ value: T; cgroup: Cgroup }> {
  const cgroup = await createCgroup(`col-bench-${name}-${process.pid}`, LIMITS);
  try {
    return { value: await fn(cgroup), cgroup };
  } finally {
    await cgroup.remove();
  }
}

/** The plain Node pass over the backlog file, in a cgroup with the same limits. */
export async function plainReader(dir: string, file: string) {
  let cpu = 0;
  let peak: number | undefined;
  const { value } = await inCgroup('plain', async (cg) => {
    const child = cg.spawn(process.execPath, ['-e', PLAIN_READER, file, path.join(dir, 'plain-out.log')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': after 'close' its stdout has been read to the end.
    const code = await new Promise<number | null>((r) => child.once('close', r));
    if (code !== 0) throw new Error(`plain reader exited ${code}`);
    cpu = await cg.cpuSeconds();
    peak = await cg.peakBytes();
    return JSON.parse(out) as { lines: number; matched: number; maxRssKiB: number };
  });
  return { ...value, cpu, cgroupPeak: peak };
}

export interface Uplink {
  broker: Mosquitto;
  acker: Acker;
  close(): Promise<void>;
}

export async function uplink(): Promise<Uplink> {
  const broker = await startMosquitto({ persistence: false });
  const acker = await startAcker(broker.url);
  return {
    broker,
    acker,
    close: async () => {
      await acker.close();
      await broker.stop();
    },
  };
}

/** The bin as this bench starts it: the default configuration (rig.ts only points it at the root and the broker), the launcher's flags and malloc settings. */
export function startBin(o: {
  dir: string;
  node: string;
  dockerRoot: string;
  link: Uplink;
  cgroup: Cgroup;
  /** Over rig.ts's sections (collector.exited_containers: the log source's own poll interval). */
  config?: Record<string, unknown>;
}): Promise<CollectorRun> {
  return runCollector({
    dir: o.dir,
    node: o.node,
    dockerRoot: o.dockerRoot,
    brokerUrl: o.link.broker.url,
    cgroup: o.cgroup,
    config: o.config ?? {},
    nodeArgs: NODE_ARGS,
    env: NODE_ENV,
  });
}

/**
 * What every collector bench starts with: cgroups to run in (else it cannot measure) and a
 * temporary folder, given to `run` and removed after it, whatever it did.
 */
export async function withCollectorDir<T>(name: string, run: (dir: string) => Promise<T>): Promise<T> {
  if (cgroupVersion() === undefined) throw new Error('needs root and a writable cgroup v1 or v2 hierarchy');
  const dir = await mkdtemp(path.join(os.tmpdir(), `col-bench-${name}-`));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** withCollectorDir and an uplink, closed after `run`, whatever it did. */
export function withCollectorRig<T>(name: string, run: (dir: string, link: Uplink) => Promise<T>): Promise<T> {
  return withCollectorDir(name, async (dir) => {
    const link = await uplink();
    try {
      return await run(dir, link);
    } finally {
      await link.close();
    }
  });
}
