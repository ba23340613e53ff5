/**
 * One collector per data directory. Two collectors on one directory would interleave outbox
 * groups, store blocks and read cursors, and each would resend or skip what the other did: the
 * second refuses to start instead. The lock is a file holding the owner's pid and its start time
 * (field 22 of /proc/<pid>/stat), so that a lock left by a SIGKILL is taken over even when the
 * pid was reused (in a container the collector is pid 1 on every start).
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CollectorError } from '../errors.js';

export interface DataDirLock {
  release(): Promise<void>;
}

const LOCK_FILE = 'collector.lock';

/** The start time of a running process, '' where /proc is not readable, undefined when it does not run. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return '';
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0) but holds nothing.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19] ?? '';
}

/**
 * Creates `dir` one level at a time. Node's recursive mkdir never returns for a path under /proc
 * (it retries ENOENT there for ever, and the collector hung at start without a word); one level
 * at a time, the first that cannot be made says why.
 */
async function makeDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ;) {
    const found = await stat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      return undefined;
    });
    if (found !== undefined) {
      if (!found.isDirectory()) throw new Error(`${at} is not a directory`);
      break;
    }
    missing.push(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const level of missing.reverse())
    await mkdir(level).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
}

/** True when the lock's content names a process other than this one that still runs. */
async function heldByOther(content: string): Promise<number | undefined> {
  const [pidText, started] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  const now = await startTimeOf(pid);
  if (now === undefined) return undefined;
  return now === '' || started === undefined || now === started ? pid : undefined;
}

/** A data directory that cannot be created or written: said at start, with the option that names it. */
function unusable(dir: string, err: unknown): CollectorError {
  return new CollectorError(
    'ET_ERR_DATA_DIR_UNUSABLE',
    `dataDir ${dir}: ${(err as Error).message}; fix: point dataDir (EDGE_TELEMETRY_COLLECTOR_DATA_DIR) at a writable directory`,
  );
}

/** Takes this collector's lock on `dir` (created if missing), or refuses with the pid that holds it. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await makeDir(dir).catch((err: unknown) => {
    throw unusable(dir, err);
  });
  const file = path.join(dir, LOCK_FILE);
  const mine = `${process.pid} ${(await startTimeOf(process.pid)) ?? ''}\n`;
  try {
    await writeFile(file, mine, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      // Created but not written (a full volume): an empty lock would only be in the way of the next start.
      await rm(file, { force: true }).catch(() => undefined);
      throw unusable(dir, err);
    }
    const owner = await heldByOther(await readFile(file, 'utf8').catch(() => ''));
    if (owner !== undefined)
      throw new CollectorError(
        'ET_ERR_DATA_DIR_LOCKED',
        `dataDir ${dir} is in use by the collector with pid ${owner}; stop it, or give this one another dataDir (EDGE_TELEMETRY_COLLECTOR_DATA_DIR)`,
      );
    // Left by a collector that is gone (or by this process before): replaced in one step.
    const tmp = `${file}.${process.pid}`;
    try {
      await writeFile(tmp, mine);
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw unusable(dir, e);
    }
  }
  return {
    release: async () => {
      // Only our own lock: a collector that took over a lock it thought stale must keep it.
      const content = await readFile(file, 'utf8').catch(() => '');
      if (content === mine) await rm(file, { force: true });
    },
  };
}
