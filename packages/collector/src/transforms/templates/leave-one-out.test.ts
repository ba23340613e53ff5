import { describe, expect, it } from 'vitest';
import { argMax, leaveOneOut, objective, type Score } from './leave-one-out.js';

describe('leaveOneOut', () => {
  it('scores each dataset with what was chosen without it', () => {
    // Candidate 0 is better on A, B and C, candidate 1 only on D: held out, D still gets candidate 0.
    const scores: Score[][] = [
      [{ ga: 1 }, { ga: 1 }, { ga: 1 }, { ga: 0.7 }],
      [{ ga: 0.8 }, { ga: 0.8 }, { ga: 0.8 }, { ga: 1 }],
    ];
    const r = leaveOneOut(
      ['A', 'B', 'C', 'D'],
      (held) => argMax(scores.map((row) => objective(row.filter((_, d) => d !== held)))),
      (c, d) => scores[c]?.[d] as Score,
    );
    expect(r.datasets.map((d) => [d.name, d.chosen, d.ga])).toEqual([
      ['A', 0, 1],
      ['B', 0, 1],
      ['C', 0, 1],
      ['D', 0, 0.7],
    ]);
    expect(r.gaMean).toBeCloseTo(3.7 / 4);
  });

  it('weighs parsing accuracy where datasets have one', () => {
    expect(objective([{ ga: 1, pa: 0.5 }, { ga: 0.5 }])).toBeCloseTo(0.75 + 0.5);
  });
});
