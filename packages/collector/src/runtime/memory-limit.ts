/**
 * The memory limit the collector runs under: its own cgroup's, read once at start. cgroup v1: the
 * `memory` controller's line of /proc/self/cgroup, then `memory.limit_in_bytes` there and in every
 * ancestor (the smallest applies); v2: the unified line (`0::/path`), then `memory.max` the same
 * way. Inside a container the path in /proc/self/cgroup may be the host's while the container sees
 * only its own cgroup at the mount root: then the root's file is the limit. `max` (v2) and the
 * page-counter maximum (v1, ~2^63) mean no limit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSingle } from '../sources/cgroup/parse.js';

export interface MemoryLimit {
  /** Bytes, or undefined when no cgroup limits this process. */
  bytes: number | undefined;
  /** The file the limit came from, or why there is none. */
  source: string;
  /** memory.stat of the cgroup whose limit applies (what it is charged for), when the limit came from one. */
  statFile?: string;
}

/** Reads a file's text, or undefined when it is not there (the only I/O, passed in for tests). */
export type ReadText = (file: string) => string | undefined;

/** A limit file's bytes: the cgroup source's parser, which already reads `max` and v1's ~2^63 as no limit. */
function parseLimit(text: string | undefined): number | undefined {
  const n = text === undefined ? undefined : parseSingle(text);
  return n !== undefined && n > 0 ? n : undefined;
}

/** The smallest limit in `file` at `dir` and its ancestors down to `root`, falling back to the root's own. */
function smallestUpTo(root: string, rel: string, file: string, read: ReadText): MemoryLimit {
  let best: MemoryLimit = { bytes: undefined, source: `${path.join(root, rel, file)}: no limit` };
  let found = false;
  for (let dir = path.join(root, rel); ; dir = path.dirname(dir)) {
    const text = read(path.join(dir, file));
    if (text !== undefined) found = true;
    const n = parseLimit(text);
    if (n !== undefined && (best.bytes === undefined || n < best.bytes))
      best = { bytes: n, source: path.join(dir, file), statFile: path.join(dir, 'memory.stat') };
    if (dir === root || !dir.startsWith(root)) break;
  }
  if (!found) best.source = `${path.join(root, rel, file)} not found`;
  return best;
}

/** The limit from the text of /proc/self/cgroup and the cgroup files under `root` (pure over `read`). */
export function cgroupMemoryLimit(procSelfCgroup: string, read: ReadText, root = '/sys/fs/cgroup'): MemoryLimit {
  let v1: string | undefined;
  let v2: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const [id, controllers, p] = line.split(':');
    if (controllers === undefined || p === undefined) continue;
    if (controllers.split(',').includes('memory')) v1 = p;
    else if (id === '0' && controllers === '') v2 = p;
  }
  // A hybrid host lists both; the memory controller is where v1 has it.
  if (v1 !== undefined) return smallestUpTo(path.join(root, 'memory'), v1, 'memory.limit_in_bytes', read);
  if (v2 !== undefined) return smallestUpTo(root, v2, 'memory.max', read);
  return { bytes: undefined, source: 'no memory cgroup in /proc/self/cgroup' };
}

/** The real files' ReadText (also how the pressure sampler reads /proc/self/status). */
export const readText: ReadText = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** This process's limit, from the real files. */
export function readMemoryLimit(): MemoryLimit {
  const self = readText('/proc/self/cgroup');
  return self === undefined
    ? { bytes: undefined, source: '/proc/self/cgroup unreadable' }
    : cgroupMemoryLimit(self, readText);
}
