import { parseEntry, type LogFileFormat } from './formats.js';

export type MessageFormat = 'raw' | LogFileFormat;

/**
 * The message of one line of a file in the given framing. A line that does not parse as its
 * format keeps its whole text, so that nothing is silently lost.
 */
export function cutMessage(format: MessageFormat, line: string): string {
  if (format === 'raw') return line;
  return parseEntry(format, line)?.text ?? line;
}
