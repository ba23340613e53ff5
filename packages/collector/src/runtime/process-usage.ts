import { nodeProcessProbe, type ProcessProbe } from '../self/self-health.js';

/** This process's CPU (percent of one core since the previous call) and RSS, for the batch's health section. */
export function createProcessUsage(probe: ProcessProbe = nodeProcessProbe): { cpuPct(): number; rssBytes(): number } {
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
