/**
 * Log lines for simulated gateways from real systems: the Loghub-2k corpora, read at run time from
 * where they lie (their licence forbids copying them into the project). Each dataset becomes the
 * log of one kind of container, so a node's containers speak as HDFS, OpenSSH, Spark... do.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LOG_LEVEL_NAMES, LogLevel } from '@edge-telemetry/protocol';
import { parseCsv } from '../../transforms/templates/csv.js';
import { levelFromValue } from '../../transforms/parse/level.js';
import type { DemoLogLine } from './demo-log-source.js';
import { seedFrom } from './prng.js';

/** One corpus dataset: its messages with an upper-case level word each. */
export interface CorpusDataset {
  name: string;
  lines: DemoLogLine[];
}

/**
 * parseCsv builds each field a character at a time: V8 keeps that as a chain of one rope node per
 * character (~30 bytes each; 35 MB for the ten datasets). A round trip through UTF-8 stores the
 * line once, flat, for the life of the simulation.
 */
const flat = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/**
 * Reads `<root>/<D>/<D>_2k.log_structured.csv` for every dataset folder: the Content column as
 * the message, the Level column (where the dataset has one; unknown words and datasets without
 * one count as info) as the level. Undefined when root does not exist.
 */
export async function readCorpusLines(root: string): Promise<CorpusDataset[] | undefined> {
  const names = await readdir(root).catch(() => undefined);
  if (names === undefined) return undefined;
  const out: CorpusDataset[] = [];
  for (const name of names.sort()) {
    const file = path.join(root, name, `${name}_2k.log_structured.csv`);
    const isFile = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) continue;
    const [header = [], ...rows] = parseCsv(await readFile(file, 'utf8'));
    const content = header.indexOf('Content');
    const level = header.indexOf('Level');
    if (content < 0) continue;
    const lines = rows
      .filter((r) => r.length === header.length && r[content] !== '')
      .map((r) => ({ level: LOG_LEVEL_NAMES[(level < 0 ? undefined : levelFromValue(r[level])) ?? LogLevel.info]!.toUpperCase(), text: flat(r[content] as string) }));
    if (lines.length > 0) out.push({ name, lines });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * A line picker over the corpora: a container reads from the dataset its id hashes to, at a
 * random line, so that nodes share the data yet differ in which system each container is and
 * what it says when.
 */
export function corpusPicker(datasets: readonly CorpusDataset[]): (containerId: string, r: () => number) => DemoLogLine {
  return (containerId, r) => {
    const d = datasets[seedFrom(containerId) % datasets.length] as CorpusDataset;
    return d.lines[Math.floor(r() * d.lines.length)] as DemoLogLine;
  };
}
