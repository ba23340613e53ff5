/**
 * When simulated links fail: each connected node is cut at a given rate (a Poisson process per
 * node, stepped), for a length drawn uniformly from half to one and a half of the mean.
 */
export interface PlannedCut {
  index: number;
  lengthMs: number;
}

export function plannedCuts(
  down: readonly boolean[],
  perNodePerHour: number,
  meanMs: number,
  stepMs: number,
  r: () => number,
): PlannedCut[] {
  const p = 1 - Math.exp((-perNodePerHour * stepMs) / 3_600_000);
  const cuts: PlannedCut[] = [];
  for (let i = 0; i < down.length; i++) {
    if (down[i] || r() >= p) continue;
    cuts.push({ index: i, lengthMs: Math.round(meanMs * (0.5 + r())) });
  }
  return cuts;
}
