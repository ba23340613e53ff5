/**
 * Loghub-2k's systems as one container's Docker json-file backlog, the second input of the
 * collector's backlog bench: text lines of real systems (headers, ids, paths), which the synthetic
 * mix the collector was tuned on never held. Entries take the datasets' lines in turn (the first
 * line of each system, then the second of each, ...), written as Docker's json-file driver writes
 * them (Go's JSON escaping: `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes), on stdout, 50 a
 * second of runtime time ending at `endMs`, repeated until the file holds `bytes`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { containerId } from '../../test/support/json-file-backlog.js';
import type { LoghubLines } from './loghub-lines.js';

export interface LoghubBacklog {
  file: string;
  bytes: number;
  entries: number;
  /** Runtime time of the last entry (ms). */
  lastTs: number;
}

const GAP_MS = 20;
/** An entry's bytes besides its log value: `{"log":`, `,"stream":"stdout","time":"`, 30 of time, `"}` and the newline. */
const FRAMING_BYTES = 67;

/** JSON.stringify as Go's encoding/json writes a string (what Docker's json-file driver uses). */
export const goJsonString = (s: string): string =>
  JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export async function writeLoghubBacklog(o: {
  root: string;
  name: string;
  bytes: number;
  endMs: number;
  datasets: readonly LoghubLines[];
}): Promise<LoghubBacklog> {
  const logs: string[] = [];
  let bytes = 0;
  const longest = Math.max(...o.datasets.map((d) => d.lines.length));
  for (let i = 0; bytes < o.bytes; i = (i + 1) % longest)
    for (const d of o.datasets) {
      if (i >= d.lines.length) continue;
      const log = goJsonString(`${d.lines[i] as string}\n`);
      logs.push(log);
      bytes += Buffer.byteLength(log) + FRAMING_BYTES;
    }
  const id = containerId(o.name);
  const dir = path.join(o.root, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.v2.json'), JSON.stringify({ Name: `/${o.name}` }));
  const file = path.join(dir, `${id}-json.log`);
  const first = o.endMs - (logs.length - 1) * GAP_MS;
  // Docker's RFC 3339 with nanoseconds: the millisecond time and six more digits.
  const time = (ms: number) => new Date(ms).toISOString().replace('Z', '000000Z');
  const text = logs.map((log, k) => `{"log":${log},"stream":"stdout","time":"${time(first + k * GAP_MS)}"}\n`).join('');
  await writeFile(file, text);
  return { file, bytes: Buffer.byteLength(text), entries: logs.length, lastTs: o.endMs };
}
