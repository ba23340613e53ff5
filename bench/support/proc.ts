/** A process's resident memory and CPU time from /proc (Linux): what the benches measure other processes by. */
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
export const TICKS_PER_S = 100;

export async function procFigures(pid: number): Promise<{ rssKib: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return { rssKib: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]), cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

/** CPU seconds a process has used so far (user and system). */
export async function cpuSeconds(pid: number): Promise<number> {
  return (await procFigures(pid)).cpuTicks / TICKS_PER_S;
}

/** Write-type system calls (write, writev, send...) a process has made so far: /proc/<pid>/io's syscw. */
export async function writeSyscalls(pid: number): Promise<number> {
  return Number(/^syscw: (\d+)/m.exec(await readFile(`/proc/${pid}/io`, 'utf8'))?.[1]);
}
