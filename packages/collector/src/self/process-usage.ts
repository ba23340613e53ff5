/** Where the process figures come from; injectable so tests control them. */
export interface ProcessProbe {
  /** CPU time used by this process, µs (process.cpuUsage user + system). */
  cpuMicros(): number;
  rssBytes(): number;
  /** Monotonic wall clock, ms. */
  nowMs(): number;
}

export const nodeProcessProbe: ProcessProbe = {
  cpuMicros: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  rssBytes: () => process.memoryUsage.rss(),
  nowMs: () => performance.now(),
};

export interface ProcessUsage {
  /** Percent of one core used since the previous call. */
  cpuPct(): number;
  rssBytes(): number;
}

export function createProcessUsage(probe: ProcessProbe = nodeProcessProbe): ProcessUsage {
  let lastCpu = probe.cpuMicros();
  let lastWall = probe.nowMs();
  return {
    cpuPct() {
      const cpu = probe.cpuMicros();
      const wall = probe.nowMs();
      const pct = wall > lastWall ? ((cpu - lastCpu) / 1000 / (wall - lastWall)) * 100 : 0;
      lastCpu = cpu;
      lastWall = wall;
      return pct;
    },
    rssBytes: () => probe.rssBytes(),
  };
}
