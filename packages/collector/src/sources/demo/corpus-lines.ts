/**
 * Log lines for simulated gateways from real systems: the Loghub-2k corpora, read at run time from
 * where they lie (their licence forbids copying them into the project). Each dataset becomes the
 * log of one kind of container, so a node's containers speak as HDFS, OpenSSH, Spark... do.
 */
import { LOG_LEVEL_NAMES, LogLevel } from '@edge-telemetry/protocol';
import { readLoghub } from '../../transforms/templates/loghub.js';
import { levelFromValue } from '../../transforms/parse/level.js';
import type { DemoLogLine } from './demo-log-source.js';
import { seedFrom } from './prng.js';

/** One corpus dataset: its messages with an upper-case level word each. */
export interface CorpusDataset {
  name: string;
  lines: DemoLogLine[];
}

/**
 * Every Loghub-2k dataset under root (readLoghub): the Content column as the message, the Level
 * column as the level (unknown words and datasets without one count as info). Undefined when root
 * does not exist or holds no dataset.
 */
export async function readCorpusLines(root: string): Promise<CorpusDataset[] | undefined> {
  const datasets = await readLoghub(root).catch(() => undefined);
  const out = (datasets ?? [])
    .map(({ name, contents, levels }) => ({
      name,
      lines: contents.flatMap((text, i) =>
        text === ''
          ? []
          : [{ level: LOG_LEVEL_NAMES[levelFromValue(levels[i]) ?? LogLevel.info]!.toUpperCase(), text }],
      ),
    }))
    .filter((d) => d.lines.length > 0);
  return out.length > 0 ? out : undefined;
}

/**
 * A line picker over the corpora: a container reads from the dataset its id hashes to, at a
 * random line, so that nodes share the data yet differ in which system each container is and
 * what it says when.
 */
export function corpusPicker(
  datasets: readonly CorpusDataset[],
): (containerId: string, r: () => number) => DemoLogLine {
  return (containerId, r) => {
    const d = datasets[seedFrom(containerId) % datasets.length] as CorpusDataset;
    return d.lines[Math.floor(r() * d.lines.length)] as DemoLogLine;
  };
}
