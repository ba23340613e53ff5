/**
 * `npm run bench [-- <filter>]`: runs every case in bench/*.bench.ts whose name contains the
 * filter, writes bench/results/latest.json and bench/results/latest.md (a filtered run keeps the
 * figures of the cases it did not run).
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { BenchCase, Figure } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const figures: Figure[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { benches: BenchCase[] };
  for (const c of mod.benches) {
    if (filter && !c.name.includes(filter)) continue;
    process.stdout.write(`bench ${c.name} ... `);
    const t0 = Date.now();
    try {
      const got = await c.run();
      figures.push(...got);
      process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      for (const f of got)
        process.stdout.write(
          `  ${f.name} = ${fmt(f.value)} ${f.unit}${f.ratio !== undefined ? ` (ratio ${fmt(f.ratio)})` : ''}\n`,
        );
    } catch (err) {
      process.stdout.write(`FAILED: ${(err as Error).stack}\n`);
      process.exitCode = 1;
    }
  }
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

const machine = {
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
const md = [
  `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.date}`,
  '',
  '| figure | value | unit | baseline | ratio | note |',
  '| --- | ---: | --- | ---: | ---: | --- |',
  ...figures.map(
    (f) =>
      `| ${f.name} | ${fmt(f.value)} | ${f.unit} | ${f.baseline !== undefined ? fmt(f.baseline) : ''} | ${f.ratio !== undefined ? fmt(f.ratio) : ''} | ${f.note ?? ''} |`,
  ),
].join('\n');
await writeFile(path.join(out, 'latest.md'), md + '\n');
console.log(`\nwrote bench/results/latest.json and latest.md (${figures.length} figures)`);
