/**
 * Figures live in bench/results/latest.json; latest.md and the READMEs' figures blocks are made
 * from it (bench/figures.ts). This fails when one of them was edited by hand or went stale: fix it
 * with `npm run figures` (or a bench run, which rewrites them).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { figureBlocks, latestMarkdown, refreshFigureBlocks } from '../../bench/figures.js';
import { markdownFiles, readResults, repoRoot, resultsDir } from '../../bench/write-figures.js';

describe('figures in the docs', async () => {
  const results = await readResults();
  const docs = (await markdownFiles()).filter((f) => path.dirname(f) !== resultsDir);

  it('bench/results/latest.md is latest.json rendered', async () => {
    expect(await readFile(path.join(resultsDir, 'latest.md'), 'utf8')).toBe(latestMarkdown(results));
  });

  it.each(docs.map((f) => path.relative(repoRoot, f)))(
    '%s: every figures block is latest.json rendered',
    async (file) => {
      const text = await readFile(path.join(repoRoot, file), 'utf8');
      expect(text).toBe(refreshFigureBlocks(text, results.figures, file));
    },
  );

  it('the root README shows its headline figures from latest.json', async () => {
    const blocks = figureBlocks(await readFile(path.join(repoRoot, 'README.md'), 'utf8'));
    expect(blocks.flat().length).toBeGreaterThan(0);
  });
});
