/**
 * `npm run bench [-- <filter>]`: runs every case in bench/*.bench.ts whose name contains the
 * filter (a filter no name contains: exit 2, results untouched; cases that all fail: exit 1,
 * results untouched; `-- --list` prints the names),
 * writes bench/results/latest.json (a filtered run keeps the figures of the cases it did not
 * run), then latest.md and the READMEs' figures blocks from it (write-figures.ts).
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { formatNumber, type Machine } from './figures.js';
import type { BenchCase, Figure } from './harness.js';
import { writeFigureDocs } from './write-figures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const cases: BenchCase[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { benches: BenchCase[] };
  cases.push(...mod.benches);
}
if (filter === '--list') {
  for (const c of cases) console.log(c.name);
  process.exit(0);
}
const chosen = cases.filter((c) => !filter || c.name.includes(filter));
// A filter that matches nothing must not rewrite the results: the old figures would get a new
// date and look freshly measured.
if (chosen.length === 0) {
  console.error(
    `bench: no case name contains "${filter}"; bench/results left as they were. Cases:\n${cases.map((c) => `  ${c.name}`).join('\n')}`,
  );
  process.exit(2);
}

const figures: Figure[] = [];
for (const c of chosen) {
  process.stdout.write(`bench ${c.name} ... `);
  const t0 = Date.now();
  try {
    const got = await c.run();
    figures.push(...got);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const f of got)
      process.stdout.write(
        `  ${f.name} = ${formatNumber(f.value)} ${f.unit}${f.ratio !== undefined ? ` (ratio ${formatNumber(f.ratio)})` : ''}\n`,
      );
  } catch (err) {
    process.stdout.write(`FAILED: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}
// Chosen cases that all failed leave nothing new: rewriting would give the old figures a new date.
if (figures.length === 0) {
  console.error('\nbench: no figure was measured (every chosen case failed); bench/results left as they were');
  process.exit(1);
}

const machine: Machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()}-${os.arch()}`,
  date: new Date().toISOString(),
};
const out = path.join(here, 'results');
await mkdir(out, { recursive: true });
// A filtered run updates its own figures and keeps the others, so subsets can be re-measured one by one.
if (filter) {
  const previous = await readFile(path.join(out, 'latest.json'), 'utf8').then(
    (t) => (JSON.parse(t) as { figures: Figure[] }).figures,
    () => [],
  );
  const fresh = new Set(figures.map((f) => f.name));
  figures.unshift(...previous.filter((f) => !fresh.has(f.name)));
}
await writeFile(path.join(out, 'latest.json'), JSON.stringify({ machine, figures }, null, 2) + '\n');
const changed = await writeFigureDocs({ machine, figures });
console.log(
  `\nwrote bench/results/latest.json (${figures.length} figures) and ${changed.join(', ') || 'nothing else'}`,
);
