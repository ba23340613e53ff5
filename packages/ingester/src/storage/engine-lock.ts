/**
 * Who holds the embedded engine's data directory. The engine takes an exclusive flock on
 * `<dir>/status` and writes its pid there. Asked before the engine is opened, because the engine
 * prints its own "Code: 76 ... Cannot lock file" line on stderr from native code when the lock is
 * taken (no engine argument silences it), ahead of the ingester's ET_ERR_DATA_DIR_LOCKED.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The pid the engine wrote in its status file, when that process is alive and not this one. */
function livePidInStatus(status: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(status, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID: (\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * True when `locks` (the text of /proc/locks) has an flock by `pid` on a file of inode `ino`. The
 * device is not compared: on overlay filesystems /proc/locks names the layer's device, stat the
 * overlay's; the pid from the status file makes a match on the inode alone specific enough.
 */
export function holdsFlock(locks: string, pid: number, ino: bigint): boolean {
  return locks.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 14019 fe:00:2965816 0 EOF"
    return f[1] === 'FLOCK' && Number(f[4]) === pid && f[5]?.split(':')[2] === String(ino);
  });
}

/**
 * The pid of another live process holding `dataDir`'s engine lock. Before opening, the pid in the
 * status file counts only when /proc/locks shows it holding the file (a SIGKILLed engine leaves a
 * stale pid there, which may have been reused); without /proc/locks (not Linux) the answer is
 * undefined and the engine's own refusal decides. After the engine refused the directory, the
 * live pid in the status file is the holder.
 */
export function engineHolder(dataDir: string, afterRefusal: boolean): number | undefined {
  const status = path.join(dataDir, 'status');
  const pid = livePidInStatus(status);
  if (pid === undefined || afterRefusal) return pid;
  try {
    return holdsFlock(readFileSync('/proc/locks', 'utf8'), pid, statSync(status, { bigint: true }).ino)
      ? pid
      : undefined;
  } catch {
    return undefined;
  }
}
