/** A dataset's scores under one configuration. `pa` only where the dataset has corrected templates. */
export interface Score {
  ga: number;
  pa?: number;
}

export interface HeldOut<C> {
  name: string;
  /** The configuration chosen without this dataset. */
  chosen: C;
  ga: number;
  pa?: number;
}

export interface LeaveOneOut<C> {
  datasets: HeldOut<C>[];
  gaMean: number;
}

/**
 * The figure a choice of settings cannot be fitted to: for each dataset in turn, `choose` picks
 * a configuration without it (it is told which one is held out and must not look at it), and the
 * held-out dataset is scored with that configuration.
 */
export function leaveOneOut<C>(
  names: readonly string[],
  choose: (held: number) => C,
  score: (config: C, dataset: number) => Score,
): LeaveOneOut<C> {
  const datasets = names.map((name, held): HeldOut<C> => {
    const chosen = choose(held);
    const s = score(chosen, held);
    return { name, chosen, ga: s.ga, ...(s.pa === undefined ? {} : { pa: s.pa }) };
  });
  return { datasets, gaMean: mean(datasets.map((d) => d.ga)) };
}

/** What the choice maximises over the datasets it may use: mean GA plus mean PA (over those that have one). */
export function objective(row: readonly Score[]): number {
  return mean(row.map((s) => s.ga)) + paMean(row);
}

export function paMean(row: readonly Score[]): number {
  return mean(row.filter((s) => s.pa !== undefined).map((s) => s.pa as number));
}

/** Index of the largest value (the first of equals). */
export function argMax(values: readonly number[]): number {
  let at = 0;
  values.forEach((v, i) => {
    if (v > (values[at] as number)) at = i;
  });
  return at;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}
