/**
 * Figures as Markdown: the table of bench/results/latest.md and the tables the READMEs embed.
 * A README names the figures it shows in a marker, and the rows between the markers are made
 * from bench/results/latest.json, so a README never states a figure of its own:
 *
 *   <!-- figures: uplink.bytes_per_node_hour uplink.ratio_vs_raw -->
 *   (generated table)
 *   <!-- figures:end -->
 *
 * `npm run bench` rewrites these blocks after every run; `npm run figures` does it from the
 * committed latest.json alone; test/docs/readme-figures.test.ts fails when one is stale.
 */
import type { Figure } from './harness.js';

/** Three significant digits at most, thousands separated: 441,685; 85.4; 0.00409. */
export function formatNumber(n: number): string {
  const a = Math.abs(n);
  const s = a >= 100 ? n.toFixed(0) : a >= 1 ? String(Number(n.toPrecision(3))) : n.toPrecision(3);
  return a >= 1000 ? Number(s).toLocaleString('en-US') : s;
}

const HEADER = ['| figure | value | unit | baseline | ratio | note |', '| --- | ---: | --- | ---: | ---: | --- |'];

function row(f: Figure): string {
  const opt = (n: number | undefined) => (n === undefined ? '' : formatNumber(n));
  return `| ${f.name} | ${formatNumber(f.value)} | ${f.unit} | ${opt(f.baseline)} | ${opt(f.ratio)} | ${f.note ?? ''} |`;
}

/** The table of `figures`, in their order. */
export function figuresTable(figures: readonly Figure[]): string {
  return [...HEADER, ...figures.map(row)].join('\n');
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

/** What bench/results/latest.json holds. */
export interface Results {
  machine: Machine;
  figures: Figure[];
}

/** bench/results/latest.md: the machine, then every figure. */
export function latestMarkdown({ machine, figures }: Results): string {
  const m = machine;
  return `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}\n\n${figuresTable(figures)}\n`;
}

const BLOCK = /<!-- figures: ([^>]*?) -->\n[\s\S]*?<!-- figures:end -->/g;

/** The names each block of `text` asks for (empty when it has none). */
export function figureBlocks(text: string): string[][] {
  return [...text.matchAll(BLOCK)].map((m) => (m[1] ?? '').split(/\s+/).filter(Boolean));
}

/**
 * `text` with every figures block regenerated from `figures`. A name that is not among them is an
 * error: a README must not keep a row the benches no longer measure.
 */
export function refreshFigureBlocks(text: string, figures: readonly Figure[], file = 'text'): string {
  const byName = new Map(figures.map((f) => [f.name, f]));
  return text.replace(BLOCK, (_all, list: string) => {
    const names = list.split(/\s+/).filter(Boolean);
    const missing = names.filter((n) => !byName.has(n));
    if (missing.length > 0) throw new Error(`${file}: no figure ${missing.join(', ')} in bench/results/latest.json`);
    return `<!-- figures: ${names.join(' ')} -->\n${figuresTable(names.map((n) => byName.get(n) as Figure))}\n<!-- figures:end -->`;
  });
}
