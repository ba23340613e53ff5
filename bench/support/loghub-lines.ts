/**
 * Loghub-2k lines with their levels, read at run time from the shared corpus (its licence forbids
 * copying them into the repository). The level of each line comes from the dataset's
 * `_structured.csv` Level column where it has one; datasets without one (HPC, OpenSSH) are info.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LogLevel, type LogLevelValue } from '@edge-telemetry/protocol';

export interface LoghubLines {
  name: string;
  /** Raw lines as the system wrote them (header included), in file order. */
  lines: string[];
  /** levels[i] is the level of lines[i]. */
  levels: LogLevelValue[];
}

/** Level words of the ten datasets (Android's one-letter logcat levels, Apache's syslog names, BGL's, Windows' capitalised Info). */
const LEVEL_WORDS: Record<string, LogLevelValue> = {
  v: LogLevel.trace,
  verbose: LogLevel.trace,
  trace: LogLevel.trace,
  d: LogLevel.debug,
  debug: LogLevel.debug,
  i: LogLevel.info,
  info: LogLevel.info,
  notice: LogLevel.info,
  w: LogLevel.warn,
  warn: LogLevel.warn,
  warning: LogLevel.warn,
  e: LogLevel.error,
  error: LogLevel.error,
  severe: LogLevel.error,
  f: LogLevel.fatal,
  fatal: LogLevel.fatal,
};

/** A Level column value as a level; unknown words are an error, so that a new dataset cannot skew the mix silently. */
export function levelOfWord(word: string): LogLevelValue {
  const v = LEVEL_WORDS[word.trim().toLowerCase()];
  if (v === undefined) throw new Error(`loghub: unknown level ${JSON.stringify(word)}`);
  return v;
}

/** Splits a Loghub `_2k.log` (CRLF, no newline after the last line) into lines. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Pairs raw lines with the structured rows' levels (row i is line i: LineId runs 1..n in file
 * order). `rows` includes the header row; without a Level column every line is info.
 */
export function pairLevels(name: string, lines: readonly string[], rows: readonly string[][]): LoghubLines {
  const header = rows[0] ?? [];
  const col = header.indexOf('Level');
  const data = rows.slice(1).filter((r) => r.length === header.length);
  if (data.length !== lines.length)
    throw new Error(`loghub ${name}: ${lines.length} lines but ${data.length} structured rows`);
  const levels = data.map((r) => (col < 0 ? LogLevel.info : levelOfWord(r[col] as string)));
  return { name, lines: [...lines], levels };
}

/**
 * Every dataset under root that has both files. `parseCsv` is passed in (the collector's RFC 4180
 * reader), so this module holds no second CSV parser.
 */
export async function readLoghubLines(root: string, parseCsv: (text: string) => string[][]): Promise<LoghubLines[]> {
  const out: LoghubLines[] = [];
  for (const name of (await readdir(root)).sort()) {
    const log = path.join(root, name, `${name}_2k.log`);
    const csv = `${log}_structured.csv`;
    const [haveLog, haveCsv] = await Promise.all(
      [log, csv].map((f) =>
        stat(f).then(
          (s) => s.isFile(),
          () => false,
        ),
      ),
    );
    if (!haveLog || !haveCsv) continue;
    const [logText, csvText] = await Promise.all([readFile(log, 'utf8'), readFile(csv, 'utf8')]);
    out.push(pairLevels(name, splitLines(logText), parseCsv(csvText)));
  }
  return out;
}
