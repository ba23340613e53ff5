import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseCsv } from './csv.js';
import { groupingAccuracy } from './grouping-accuracy.js';
import { TemplateMiner } from './miner.js';
import type { TemplateMinerOptions } from './options.js';
import { argMax, leaveOneOut, objective, type LeaveOneOut, type Score } from './leave-one-out.js';
import { parsingAccuracy } from './parsing-accuracy.js';
import { messageStart } from '../parse/header.js';

/** Which corrected ground truth a dataset's templates come from. */
export type TemplateTruth = 'loghub-2.0' | 'icse22';

/** One Loghub-2k dataset: its messages (the Content column), their ground-truth event ids and level words. */
export interface LoghubDataset {
  name: string;
  contents: string[];
  eventIds: string[];
  /** The Level column as written ('' for datasets without one). */
  levels: string[];
  /**
   * Each message's corrected ground-truth template: Loghub-2.0's (`corrected_loghub2.0/`, what
   * the published PA figures use) where the dataset has one, else the ICSE'22 correction
   * (`corrected/`), else none. Read for evaluations only.
   */
  templates?: string[];
  truth?: TemplateTruth;
  /** The lines as the system wrote them, header included (`<D>_2k.log`). Read for evaluations only ([] otherwise). */
  raw: string[];
}

/** How a miner did on one dataset. `pa` only where the dataset has corrected templates. */
export interface DatasetScore {
  ga: number;
  pa?: number;
  templates: number;
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

/**
 * Reads `<root>/<D>/<D>_2k.log_structured.csv` for every dataset folder under root; for an
 * `evaluation`, also the raw log and the corrected templates.
 */
export async function readLoghub(root: string, evaluation = false): Promise<LoghubDataset[]> {
  const out: LoghubDataset[] = [];
  for (const name of (await readdir(root)).sort()) {
    const file = path.join(root, name, `${name}_2k.log_structured.csv`);
    if (!(await exists(file))) continue;
    const rows = parseCsv(await readFile(file, 'utf8'));
    const header = rows[0] ?? [];
    const content = header.indexOf('Content');
    const event = header.indexOf('EventId');
    const level = header.indexOf('Level');
    if (content < 0 || event < 0) throw new Error(`${file}: no Content or EventId column`);
    const data = rows.slice(1).filter((r) => r.length === header.length);
    const contents = data.map((r) => r[content] as string);
    const d: LoghubDataset = {
      name,
      contents,
      eventIds: data.map((r) => r[event] as string),
      levels: data.map((r) => (level < 0 ? '' : (r[level] as string))),
      raw: [],
    };
    if (evaluation) {
      d.raw = (await readFile(path.join(root, name, `${name}_2k.log`), 'utf8')).split(/\r?\n/);
      if (d.raw.at(-1) === '') d.raw.pop();
      if (d.raw.length !== contents.length)
        throw new Error(`${name}: ${d.raw.length} raw lines, ${contents.length} rows`);
      Object.assign(d, await readTemplates(root, name, contents));
    }
    out.push(d);
  }
  return out;
}

async function readTemplates(
  root: string,
  name: string,
  contents: string[],
): Promise<{ templates?: string[]; truth?: TemplateTruth }> {
  for (const [folder, truth] of [
    ['corrected_loghub2.0', 'loghub-2.0'],
    ['corrected', 'icse22'],
  ] as const) {
    const file = path.join(root, name, folder, `${name}_2k.log_structured_corrected.csv`);
    if (!(await exists(file))) continue;
    const rows = parseCsv(await readFile(file, 'utf8'));
    const header = rows[0] ?? [];
    const content = header.indexOf('Content');
    const template = header.indexOf('EventTemplate');
    const data = rows.slice(1).filter((r) => r.length === header.length);
    if (template < 0 || data.length !== contents.length || data.some((r, i) => r[content] !== contents[i]))
      throw new Error(`${file}: does not line up with ${name}_2k.log_structured.csv`);
    return { templates: data.map((r) => r[template] as string), truth };
  }
  return {};
}

/**
 * Mines one dataset's messages (or its raw lines, `raw`, as `logs templates` does: each line's
 * header recognised and cut by `messageStart`, nothing known about the dataset's format) with a
 * fresh miner and scores the final assignment, as a batch parser reports it: each line's group
 * is its cluster after the whole file (merged ids resolved), its template that cluster's final
 * text, scored against the ground truth's templates of the messages.
 */
export function scoreDataset(d: LoghubDataset, options: TemplateMinerOptions, raw = false): DatasetScore {
  const miner = new TemplateMiner(options);
  const lines = raw ? d.raw.map((l) => l.slice(messageStart(l))) : d.contents;
  const first = lines.map((m) => miner.match(m));
  const ids = first.map((m) => miner.resolve(m.id));
  const ga = groupingAccuracy(ids, d.eventIds);
  const templates = new Set(ids).size;
  if (d.templates === undefined) return { ga, templates };
  // An evicted cluster keeps the template its lines got when they were mined.
  const texts = ids.map((id, i) => miner.templateOf(id) ?? (first[i]?.template as string));
  return { ga, pa: parsingAccuracy(texts, d.templates), templates };
}

/**
 * The grouping settings a leave-one-out evaluation chooses among: every combination of the tree
 * depth, the number of words that makes a position a parameter (0: never), the similarity
 * threshold, how many positions may vary together and whether dotted names are values.
 */
export function groupingGrid(): Array<Partial<TemplateMinerOptions>> {
  const out: Array<Partial<TemplateMinerOptions>> = [];
  for (const depth of [3, 4, 5])
    for (const mergeAfter of [3, 4, 5, 6, 8, 0])
      for (const similarity of [0.6, 0.8, 1])
        for (const mergePositions of [1, 2])
          for (const dottedNames of [true, false])
            out.push({ depth, mergeAfter, similarity, mergePositions, dottedNames });
  return out;
}

export interface LoghubLeaveOneOut {
  /** Messages: GA and PA of each dataset under the settings chosen on the others. */
  content: LeaveOneOut<Partial<TemplateMinerOptions>>;
  /** Raw lines, headers cut by `messageStart`: the same procedure. */
  raw: LeaveOneOut<Partial<TemplateMinerOptions>>;
  /** The settings the same procedure chooses on all the datasets: what the defaults should be. */
  all: Partial<TemplateMinerOptions>;
  candidates: number;
}

/**
 * Leave-one-out over the datasets: for each, the settings of `groupingGrid` with the best mean GA
 * plus mean PA on the others; the held-out dataset is scored with them. Raw lines are scored the
 * same way. Nothing about the held-out dataset enters its choice. `valueText` is not
 * chosen here: it changes only how templates read, and the uplink's byte budget fixes it
 * (`segments` reads closer to Loghub's templates but takes more bytes: packages/collector/docs/logs.md).
 */
export function loghubLeaveOneOut(datasets: readonly LoghubDataset[], base: TemplateMinerOptions): LoghubLeaveOneOut {
  const grid = groupingGrid();
  const names = datasets.map((d) => d.name);
  const memo = new Map<string, Score[]>();
  const scores = (g: Partial<TemplateMinerOptions>, raw: boolean): Score[] => {
    const key = JSON.stringify([g, raw]);
    let s = memo.get(key);
    if (s === undefined) memo.set(key, (s = datasets.map((d) => scoreDataset(d, { ...base, ...g }, raw))));
    return s;
  };
  const without = (row: Score[], held: number): Score[] => row.filter((_, d) => d !== held);
  /** The settings chosen on the datasets other than `held` (-1: on all). */
  const choose = (held: number): Partial<TemplateMinerOptions> =>
    grid[argMax(grid.map((c) => objective(without(scores(c, false), held))))] as Partial<TemplateMinerOptions>;
  const chooseRaw = (held: number): Partial<TemplateMinerOptions> =>
    grid[argMax(grid.map((c) => objective(without(scores(c, true), held))))] as Partial<TemplateMinerOptions>;
  return {
    content: leaveOneOut(names, choose, (c, d) => scores(c, false)[d] as Score),
    raw: leaveOneOut(names, chooseRaw, (c, d) => scores(c, true)[d] as Score),
    all: choose(-1),
    candidates: grid.length,
  };
}
