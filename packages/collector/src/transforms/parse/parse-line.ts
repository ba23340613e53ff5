import type { LogLevelValue } from '@edge-telemetry/protocol';
import { levelFromName, levelFromText, levelFromValue } from './level.js';
import { parseLogfmt } from './logfmt.js';
import type { ParseOptions } from './options.js';
import { timestampAtStart, timestampFromValue } from './timestamp.js';

export interface ParsedLog {
  ts: number;
  level: LogLevelValue;
  message: string;
  fields: Record<string, string>;
  format: 'json' | 'logfmt' | 'text';
}

const MESSAGE_KEYS = ['msg', 'message', 'log', 'text', 'event'];
const LEVEL_KEYS = ['level', 'lvl', 'severity', 'loglevel', 'levelname', 'log.level', 'severity_text'];
const TIME_KEYS = ['time', 'ts', 'timestamp', '@timestamp', 't', 'datetime'];
/** Cheap test before trying logfmt: a line only counts as logfmt when it names one of these. */
const LOGFMT_HINT = /(?:^|\s)(?:level|lvl|msg)=/;

/**
 * One log line (already joined if it spanned several) into timestamp, level, message and fields.
 * JSON objects and logfmt are read structurally; anything else is text with an optional leading
 * timestamp and a level keyword. A line that names no level gets the stream's default level.
 */
export function parseLine(line: string, stream: 'stdout' | 'stderr', fallbackTs: number, o: ParseOptions): ParsedLog {
  if (line.charCodeAt(0) === 123) {
    const json = parseJsonObject(line);
    if (json !== undefined) return fromRecord(json, line, stream, fallbackTs, o, 'json');
  }
  if (LOGFMT_HINT.test(line)) {
    const pairs = parseLogfmt(line, 64);
    if (pairs !== undefined) return fromRecord(pairs, line, stream, fallbackTs, o, 'logfmt');
  }
  const stamp = timestampAtStart(line);
  let message = line;
  let ts = fallbackTs;
  if (stamp !== undefined) {
    ts = plausible(stamp.ts, fallbackTs, o);
    message = line.slice(stamp.length).trimStart();
  }
  const level = levelFromText(message) ?? levelFromName(stream === 'stderr' ? o.stderrLevel : o.stdoutLevel);
  return { ts, level, message, fields: {}, format: 'text' };
}

/** The line's own time when it is close enough to the engine's receive time to be believed. */
function plausible(lineTs: number, receivedTs: number, o: ParseOptions): number {
  return Math.abs(lineTs - receivedTs) <= o.maxLineTimeSkewMs ? lineTs : receivedTs;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function fromRecord(
  rec: Record<string, unknown>,
  line: string,
  stream: 'stdout' | 'stderr',
  fallbackTs: number,
  o: ParseOptions,
  format: 'json' | 'logfmt',
): ParsedLog {
  const msgKey = firstKey(rec, MESSAGE_KEYS);
  const levelKey = firstKey(rec, LEVEL_KEYS);
  const timeKey = firstKey(rec, TIME_KEYS);
  const message = msgKey !== undefined ? stringify(rec[msgKey], Infinity) : line;
  const level =
    (levelKey !== undefined ? levelFromValue(rec[levelKey]) : undefined) ??
    levelFromText(message) ??
    levelFromName(stream === 'stderr' ? o.stderrLevel : o.stdoutLevel);
  const parsed = timeKey !== undefined ? timestampFromValue(rec[timeKey]) : undefined;
  const ts = parsed === undefined ? fallbackTs : plausible(parsed, fallbackTs, o);
  const fields: Record<string, string> = {};
  let kept = 0;
  for (const key in rec) {
    if (kept >= o.maxFields) break;
    if (key === msgKey || key === levelKey || key === timeKey) continue;
    fields[key] = stringify(rec[key], o.maxFieldLength);
    kept++;
  }
  return { ts, level, message, fields, format };
}

function firstKey(rec: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (rec[k] !== undefined) return k;
  return undefined;
}

function stringify(v: unknown, max: number): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  return s.length > max ? s.slice(0, max) : s;
}
