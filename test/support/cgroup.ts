/**
 * Runs a process inside a cgroup with a deployment's limits (the gateway's 128 MiB and 0.2 CPU):
 * cgroup v1 memory + cpu (+ cpuacct) controllers where they are mounted (as root they are writable
 * on these machines), v2 where the unified hierarchy has the memory and cpu controllers. The
 * cgroup is made below the one this process is in (v1), so whatever accounts for this process
 * also accounts for it; on v2 below the root, which is the only place a test can enable
 * controllers. Names are prefixed by the caller (worktree name + test), and `remove()` kills what
 * is still inside and deletes the directories.
 *
 * The limits are applied before the process starts: it is started through `sh`, which writes its
 * own pid into the cgroup and then execs the program, so not one page is charged elsewhere.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './wait.js';

const ROOT = '/sys/fs/cgroup';

export interface CgroupLimits {
  memoryBytes: number;
  /** CPU in cores (0.2 = a fifth of one core), enforced as a CFS quota per 100 ms period. */
  cpus: number;
}

export interface Cgroup {
  version: 1 | 2;
  /** Directories written (v1: one per controller). */
  dirs: string[];
  /** Spawns `command args` inside the cgroup. */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** OOM kills in the cgroup so far (v1 memory.oom_control `oom_kill`, v2 memory.events `oom_kill`). */
  oomKills(): Promise<number>;
  /** CPU time used by everything in the cgroup so far, in seconds. */
  cpuSeconds(): Promise<number>;
  /**
   * Peak memory charged to the cgroup (v1 memory.max_usage_in_bytes, v2 memory.peak where the
   * kernel has it): the processes' own pages plus the page cache of what they wrote.
   */
  peakBytes(): Promise<number | undefined>;
  /** Kills what is left inside and removes the cgroup. */
  remove(): Promise<void>;
}

/** The cgroup path of this process for a v1 controller (`memory`), or v2's (`''`), from /proc/self/cgroup. */
function ownPath(controller: string): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, list, p] = line.split(':');
    if (list === undefined || p === undefined) continue;
    if (controller === '' ? list === '' : list.split(',').includes(controller)) return p;
  }
  return undefined;
}

function v2Controllers(): string[] {
  try {
    return readFileSync(path.join(ROOT, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

/** Which cgroup version a test can use here, if any: v1 when its memory and cpu controllers are mounted, else v2 with them. */
export function cgroupVersion(): 1 | 2 | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (
    existsSync(path.join(ROOT, 'memory', 'memory.limit_in_bytes')) &&
    existsSync(path.join(ROOT, 'cpu', 'cpu.cfs_quota_us'))
  )
    return 1;
  const c = v2Controllers();
  return c.includes('memory') && c.includes('cpu') ? 2 : undefined;
}

export async function createCgroup(name: string, limits: CgroupLimits): Promise<Cgroup> {
  const version = cgroupVersion();
  if (version === undefined) throw new Error('no writable cgroup v1 (memory, cpu) or v2 hierarchy here');
  const period = 100_000;
  const quota = Math.max(1000, Math.round(limits.cpus * period));
  const dirs: string[] = [];
  let procsFiles: string[];
  let cpuRead: () => Promise<number>;
  let oomRead: () => Promise<number>;
  let peakFile: string;
  if (version === 1) {
    const mem = path.join(ROOT, 'memory', ownPath('memory') ?? '/', name);
    const cpu = path.join(ROOT, 'cpu', ownPath('cpu') ?? '/', name);
    const acct = path.join(ROOT, 'cpuacct', ownPath('cpuacct') ?? '/', name);
    const separateAcct = !existsSync(path.join(ROOT, 'cpu', 'cpuacct.usage'));
    for (const d of separateAcct ? [mem, cpu, acct] : [mem, cpu]) {
      await mkdir(d, { recursive: true });
      dirs.push(d);
    }
    await writeFile(path.join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    // No swap here, but where there is, the limit must hold for memory + swap too, or it only slows down.
    if (existsSync(path.join(mem, 'memory.memsw.limit_in_bytes')))
      await writeFile(path.join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)).catch(() => undefined);
    await writeFile(path.join(cpu, 'cpu.cfs_period_us'), String(period));
    await writeFile(path.join(cpu, 'cpu.cfs_quota_us'), String(quota));
    procsFiles = dirs.map((d) => path.join(d, 'cgroup.procs'));
    const usage = path.join(separateAcct ? acct : cpu, 'cpuacct.usage');
    cpuRead = async () => Number(await readFile(usage, 'utf8')) / 1e9;
    oomRead = async () =>
      Number(/oom_kill (\d+)/.exec(await readFile(path.join(mem, 'memory.oom_control'), 'utf8'))?.[1] ?? 0);
    peakFile = path.join(mem, 'memory.max_usage_in_bytes');
  } else {
    const sub = await readFile(path.join(ROOT, 'cgroup.subtree_control'), 'utf8');
    for (const c of ['memory', 'cpu'])
      if (!sub.split(/\s+/).includes(c)) await writeFile(path.join(ROOT, 'cgroup.subtree_control'), `+${c}`);
    const d = path.join(ROOT, name);
    await mkdir(d, { recursive: true });
    dirs.push(d);
    await writeFile(path.join(d, 'memory.max'), String(limits.memoryBytes));
    await writeFile(path.join(d, 'memory.swap.max'), '0').catch(() => undefined);
    await writeFile(path.join(d, 'cpu.max'), `${quota} ${period}`);
    procsFiles = [path.join(d, 'cgroup.procs')];
    cpuRead = async () =>
      Number(/usage_usec (\d+)/.exec(await readFile(path.join(d, 'cpu.stat'), 'utf8'))?.[1] ?? 0) / 1e6;
    oomRead = async () =>
      Number(/oom_kill (\d+)/.exec(await readFile(path.join(d, 'memory.events'), 'utf8'))?.[1] ?? 0);
    peakFile = path.join(d, 'memory.peak');
  }
  const children: ChildProcess[] = [];
  return {
    version,
    dirs,
    spawn(command, args, options = {}) {
      const script = `${procsFiles.map((f) => `echo $$ > '${f}'`).join(' && ')} && exec "$0" "$@"`;
      const child = spawn('/bin/sh', ['-c', script, command, ...args], options);
      children.push(child);
      return child;
    },
    oomKills: oomRead,
    cpuSeconds: cpuRead,
    peakBytes: () => readFile(peakFile, 'utf8').then(Number, () => undefined),
    async remove() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const d of [...dirs].reverse()) {
        // A killed process leaves its cgroup only once it is reaped: wait for the cgroup to empty.
        await waitFor(
          `${d} to empty`,
          async () => (await readFile(path.join(d, 'cgroup.procs'), 'utf8')).trim() === '',
          {
            timeoutMs: 10_000,
            intervalMs: 50,
          },
        ).catch(() => undefined);
        await rmdir(d).catch(() => undefined);
      }
    },
  };
}
