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
  /** The resident set; the last good reading when this one failed. */
  rssBytes(): number;
  /** Readings of the resident set that failed (counted by the caller's metrics). */
  rssFailures(): number;
}

export function createProcessUsage(probe: ProcessProbe = nodeProcessProbe): ProcessUsage {
  let lastCpu = probe.cpuMicros();
  let lastWall = probe.nowMs();
  let lastRss = 0;
  let rssFailures = 0;
  return {
    cpuPct() {
      const cpu = probe.cpuMicros();
      const wall = probe.nowMs();
      const pct = wall > lastWall ? ((cpu - lastCpu) / 1000 / (wall - lastWall)) * 100 : 0;
      lastCpu = cpu;
      lastWall = wall;
      return pct;
    },
    // Node reads the resident set from /proc, which takes a descriptor: out of descriptors (EMFILE)
    // it throws, and this is called from a seal, where a throw would lose the window.
    rssBytes() {
      try {
        lastRss = probe.rssBytes();
      } catch {
        rssFailures++;
      }
      return lastRss;
    },
    rssFailures: () => rssFailures,
  };
}
