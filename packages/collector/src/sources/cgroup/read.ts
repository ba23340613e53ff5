import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupVersion } from './discover.js';
import { parseBlkio, parseFlatKeyed, parseIoStat, parseSingle } from './parse.js';

/** One cgroup's raw readings; a field is undefined when its controller file is absent. */
export interface CgroupReading {
  /** Cumulative CPU time, ns. */
  cpuNs?: number;
  memUsage?: number;
  memLimit?: number;
  /** Inactive file pages: `docker stats` subtracts them from usage, and so do we. */
  inactiveFile?: number;
  ioRead?: number;
  ioWrite?: number;
  pids?: number;
}

const read = (p: string): Promise<string | undefined> => readFile(p, 'utf8').catch(() => undefined);

/**
 * Reads one cgroup. A missing controller file leaves its field out (the root cgroup has no
 * pids.current, a controller may not be enabled); if neither CPU nor memory is readable the
 * cgroup is gone and this throws.
 */
export async function readCgroup(root: string, version: CgroupVersion, rel: string): Promise<CgroupReading> {
  const r: CgroupReading = {};
  if (version === 'v2') {
    const dir = path.join(root, rel);
    const [cpu, cur, max, stat, io, pids] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'io.stat', 'pids.current'].map((f) =>
        read(path.join(dir, f)),
      ),
    );
    const usec = cpu !== undefined ? parseFlatKeyed(cpu).get('usage_usec') : undefined;
    if (usec !== undefined) r.cpuNs = usec * 1000;
    if (cur !== undefined) r.memUsage = parseSingle(cur);
    if (max !== undefined) r.memLimit = parseSingle(max);
    if (stat !== undefined) r.inactiveFile = parseFlatKeyed(stat).get('inactive_file');
    if (io !== undefined) ({ read: r.ioRead, write: r.ioWrite } = parseIoStat(io));
    if (pids !== undefined) r.pids = parseSingle(pids);
  } else {
    const [cpu, usage, limit, stat, blkio, pids] = await Promise.all([
      read(path.join(root, 'cpuacct', rel, 'cpuacct.usage')),
      read(path.join(root, 'memory', rel, 'memory.usage_in_bytes')),
      read(path.join(root, 'memory', rel, 'memory.limit_in_bytes')),
      read(path.join(root, 'memory', rel, 'memory.stat')),
      read(path.join(root, 'blkio', rel, 'blkio.throttle.io_service_bytes')),
      read(path.join(root, 'pids', rel, 'pids.current')),
    ]);
    if (cpu !== undefined) r.cpuNs = parseSingle(cpu);
    if (usage !== undefined) r.memUsage = parseSingle(usage);
    if (limit !== undefined) r.memLimit = parseSingle(limit);
    if (stat !== undefined) r.inactiveFile = parseFlatKeyed(stat).get('total_inactive_file');
    if (blkio !== undefined) ({ read: r.ioRead, write: r.ioWrite } = parseBlkio(blkio));
    if (pids !== undefined) r.pids = parseSingle(pids);
  }
  if (r.cpuNs === undefined && r.memUsage === undefined) throw new Error(`no cpu or memory accounting under ${rel}`);
  return r;
}
