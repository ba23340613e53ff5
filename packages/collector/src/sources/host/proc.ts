/** Parsers for the /proc files the host source reads (proc(5)). Pure functions over file text. */

export interface CpuTimes {
  /** All jiffies (user..steal; guest time is already inside user). */
  total: number;
  idle: number;
  iowait: number;
  cores: number;
}

/** /proc/stat: the aggregate `cpu` line and the number of `cpuN` lines. */
export function parseProcStat(text: string): CpuTimes | undefined {
  let agg: number[] | undefined;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) agg = line.slice(4).trim().split(/\s+/).map(Number);
    else if (/^cpu\d/.test(line)) cores++;
  }
  if (!agg || agg.length < 4) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = agg;
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle,
    iowait,
    cores: Math.max(1, cores),
  };
}

/** /proc/meminfo values in bytes (the file says kB, meaning KiB). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]) * (line.endsWith('kB') ? 1024 : 1));
  }
  return out;
}

export function parseLoadavg(text: string): [number, number, number] | undefined {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  return a !== undefined && b !== undefined && c !== undefined && [a, b, c].every(Number.isFinite)
    ? [a, b, c]
    : undefined;
}

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
}

/** /proc/net/dev: two header lines, then `iface: rx_bytes packets errs drop fifo frame compressed multicast tx_bytes packets errs ...`. */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0] as number,
      rxErrors: f[2] as number,
      txBytes: f[8] as number,
      txErrors: f[10] as number,
    });
  }
  return out;
}
