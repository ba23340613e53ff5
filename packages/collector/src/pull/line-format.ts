/**
 * How one stored record travels in a pull: `<ISO time>\t<container>\t<stream>\t<LEVEL>\t<line>`,
 * readable as is and split by the ingester on the first four tabs. Chunks join lines with '\n',
 * so a line's own newlines and backslashes are escaped (`\n`, `\r`, `\\`).
 */
import { LOG_LEVEL_NAMES, type LogLevelValue } from '@edge-telemetry/protocol';
import type { StoredLogRecord } from '../store/record-codec.js';

export function formatPulledLine(r: StoredLogRecord, text: string = r.line): string {
  return `${new Date(r.ts).toISOString()}\t${r.container}\t${r.stream}\t${levelName(r.level)}\t${escapeLine(text)}`;
}

function levelName(level: LogLevelValue): string {
  return (LOG_LEVEL_NAMES[level] ?? String(level)).toUpperCase();
}

function escapeLine(s: string): string {
  // The common line has none of these: one scan, no copy.
  if (!/[\\\n\r]/.test(s)) return s;
  return s.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
}
