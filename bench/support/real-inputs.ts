/**
 * Real inputs for the batch-shaped benchmarks, read from ../shared/corpora at run time (the
 * Loghub files may not be copied into the repository): OpenSSH log lines and a NAB series.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const corporaDir = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'shared',
  'corpora',
);

export function realLinesAndValues(): { lines: string[]; values: number[] } {
  const lines = readFileSync(path.join(corporaDir, 'loghub2k', 'OpenSSH', 'OpenSSH_2k.log'), 'utf8')
    .split(/\r?\n/)
    .filter(Boolean);
  const values = readFileSync(
    path.join(corporaDir, 'nab', 'data', 'realKnownCause', 'machine_temperature_system_failure.csv'),
    'utf8',
  )
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => Number(l.split(',')[1]));
  return { lines, values };
}
