import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseCsv } from './csv.js';
import { groupingAccuracy } from './grouping-accuracy.js';
import { TemplateMiner } from './miner.js';
import type { TemplateMinerOptions } from './options.js';

/** One Loghub-2k dataset: its messages (the Content column), their ground-truth event ids and level words. */
export interface LoghubDataset {
  name: string;
  contents: string[];
  eventIds: string[];
  /** The Level column as written ('' for datasets without one). */
  levels: string[];
}

export interface DatasetAccuracy {
  name: string;
  lines: number;
  ga: number;
  templates: number;
}

export interface LoghubEvaluation {
  datasets: DatasetAccuracy[];
  gaMean: number;
}

/** Reads `<root>/<D>/<D>_2k.log_structured.csv` for every dataset folder under root. */
export async function readLoghub(root: string): Promise<LoghubDataset[]> {
  const out: LoghubDataset[] = [];
  for (const name of (await readdir(root)).sort()) {
    const file = path.join(root, name, `${name}_2k.log_structured.csv`);
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) continue;
    const rows = parseCsv(await readFile(file, 'utf8'));
    const header = rows[0] ?? [];
    const content = header.indexOf('Content');
    const event = header.indexOf('EventId');
    const level = header.indexOf('Level');
    if (content < 0 || event < 0) throw new Error(`${file}: no Content or EventId column`);
    const data = rows.slice(1).filter((r) => r.length === header.length);
    out.push({
      name,
      contents: data.map((r) => r[content] as string),
      eventIds: data.map((r) => r[event] as string),
      levels: data.map((r) => (level < 0 ? '' : (r[level] as string))),
    });
  }
  return out;
}

/** Mines each dataset with a fresh miner of the same options and scores its grouping. */
export function evaluateGrouping(datasets: readonly LoghubDataset[], options: TemplateMinerOptions): LoghubEvaluation {
  const results = datasets.map((d): DatasetAccuracy => {
    const miner = new TemplateMiner(options);
    // Grouping is scored on the final assignment, as for Drain: ids of merged clusters resolve to the survivor.
    const predicted = d.contents.map((m) => miner.match(m).id).map((id) => miner.resolve(id));
    return {
      name: d.name,
      lines: d.contents.length,
      ga: groupingAccuracy(predicted, d.eventIds),
      templates: new Set(predicted).size,
    };
  });
  const gaMean = results.reduce((s, r) => s + r.ga, 0) / Math.max(1, results.length);
  return { datasets: results, gaMean };
}
