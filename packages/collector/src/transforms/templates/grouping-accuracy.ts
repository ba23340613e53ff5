/**
 * Grouping accuracy as the Loghub benchmark defines it (logparser `evaluator.py`): a message is
 * correct when the set of messages its parser group holds equals the set of its ground-truth
 * group; GA is the fraction of correct messages.
 */
export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new RangeError('predicted and truth differ in length');
  if (predicted.length === 0) return 1;
  const truthSize = new Map<string, number>();
  for (const t of truth) truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
  // Per predicted group: its size and the single truth group it covers (or null when mixed).
  const groups = new Map<string, { size: number; truth: string | null }>();
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i] as string;
    const t = truth[i] as string;
    const g = groups.get(p);
    if (g === undefined) groups.set(p, { size: 1, truth: t });
    else {
      g.size++;
      if (g.truth !== t) g.truth = null;
    }
  }
  let correct = 0;
  for (const g of groups.values()) if (g.truth !== null && truthSize.get(g.truth) === g.size) correct += g.size;
  return correct / predicted.length;
}
