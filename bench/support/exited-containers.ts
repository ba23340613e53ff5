import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The five kinds of event each container writes in turn (a CI runner's job), the third and fourth WARN+. */
const EVENTS = [
  (i: number, j: number) => `INFO starting job ${i} step ${j} on runner-${i % 7}`,
  (_i: number, j: number) => `INFO fetched ${j * 13} objects in ${j * 7} ms`,
  (i: number, j: number) => `WARN retrying request ${j} to http://10.0.${i % 250}.${j}/api after timeout`,
  (i: number, j: number) => `ERROR job ${i} failed: exit code ${j % 3}`,
  (i: number, j: number) => `DEBUG cache key k${i}-${j} miss`,
];

export interface ExitedContainers {
  /** Lines in all the logs, and the WARN+ ones among them. */
  entries: number;
  warn: number;
}

/**
 * A Docker root of `n` exited containers (a CI runner's jobs, `ci-job-<i>`), each a json-file log
 * of `lines` lines 150 ms apart, the containers' starts spread evenly over the two hours before
 * `endMs`; each log's mtime is its last line's time, as Docker leaves it. Deterministic.
 */
export async function writeExitedContainers(
  root: string,
  n: number,
  lines: number,
  endMs: number,
): Promise<ExitedContainers> {
  const span = 2 * 3_600_000 - lines * 150;
  let warn = 0;
  for (let i = 0; i < n; i++) {
    const name = `ci-job-${i}`;
    const id = createHash('sha256').update(name).digest('hex');
    const dir = path.join(root, id);
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'config.v2.json'),
      JSON.stringify({ ID: id, Name: `/${name}`, Config: { Image: 'runner:1', Labels: {} } }),
    );
    const t0 = endMs - 2 * 3_600_000 + Math.floor((i / n) * span);
    let text = '';
    for (let j = 0; j < lines; j++) {
      const kind = j % EVENTS.length;
      if (kind === 2 || kind === 3) warn++;
      const log = (EVENTS[kind] as (i: number, j: number) => string)(i, j);
      text +=
        JSON.stringify({
          log: `${log}\n`,
          stream: j % 4 === 3 ? 'stderr' : 'stdout',
          time: new Date(t0 + j * 150).toISOString(),
        }) + '\n';
    }
    const file = path.join(dir, `${id}-json.log`);
    await writeFile(file, text);
    const last = new Date(t0 + (lines - 1) * 150);
    await utimes(file, last, last);
  }
  return { entries: n * lines, warn };
}
