/**
 * Writes what is made from bench/results/latest.json: latest.md and the figures blocks of every
 * Markdown file in the repository (bench/figures.ts). `npm run bench` calls it after a run;
 * `npm run figures` runs it alone, e.g. after adding a block to a README.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latestMarkdown, refreshFigureBlocks, type Results } from './figures.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const resultsDir = path.join(repoRoot, 'bench', 'results');

const SKIP = new Set(['node_modules', 'dist', '.git', 'test-artifacts']);

/** Every Markdown file of the repository, outside dependencies and build output. */
export async function markdownFiles(dir = repoRoot): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await markdownFiles(p)));
    else if (e.name.endsWith('.md')) out.push(p);
  }
  return out.sort();
}

export async function readResults(): Promise<Results> {
  return JSON.parse(await readFile(path.join(resultsDir, 'latest.json'), 'utf8')) as Results;
}

/** Rewrites latest.md and every stale figures block; returns the files it changed. */
export async function writeFigureDocs(results: Results): Promise<string[]> {
  const changed: string[] = [];
  const write = async (file: string, text: string) => {
    if ((await readFile(file, 'utf8').catch(() => undefined)) === text) return;
    await writeFile(file, text);
    changed.push(path.relative(repoRoot, file));
  };
  await write(path.join(resultsDir, 'latest.md'), latestMarkdown(results));
  for (const file of await markdownFiles()) {
    if (path.dirname(file) === resultsDir) continue;
    const text = await readFile(file, 'utf8');
    await write(file, refreshFigureBlocks(text, results.figures, path.relative(repoRoot, file)));
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const changed = await writeFigureDocs(await readResults());
  console.log(changed.length ? `rewrote ${changed.join(', ')}` : 'every figures block is up to date');
}
