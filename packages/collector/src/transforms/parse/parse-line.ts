import { LogLevel, type LogLevelValue } from '@edge-telemetry/protocol';
import { jsonText, parseJsonObject } from './json-text.js';
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
  /** Set when a value nested too deep to encode was cut (json-text.ts); the pipeline counts it. */
  nestedTooDeep?: true;
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
 * Fields are read for lines at `fieldsFrom` or above; below it `fields` is empty (`{}`): a caller
 * that needs them only for some lines reads them later with `fieldsOf`, which gives what
 * parseLine would have.
 */
export function parseLine(
  line: string,
  stream: 'stdout' | 'stderr',
  fallbackTs: number,
  o: ParseOptions,
  fieldsFrom: LogLevelValue = LogLevel.trace,
): ParsedLog {
  const s = structured(line);
  if (s !== undefined) return fromRecord(s.rec, line, stream, fallbackTs, o, s.format, fieldsFrom);
  const stamp = timestampAtStart(line, fallbackTs);
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

/** The line's JSON object or logfmt pairs, as parseLine reads them. */
function structured(line: string): { rec: Record<string, unknown>; format: 'json' | 'logfmt' } | undefined {
  if (line.charCodeAt(0) === 123) {
    const json = parseJsonObject(line);
    if (json !== undefined) return { rec: json, format: 'json' };
  }
  if (LOGFMT_HINT.test(line)) {
    const pairs = parseLogfmt(line, 64);
    if (pairs !== undefined) return { rec: pairs, format: 'logfmt' };
  }
  return undefined;
}

/** The fields parseLine gives the line (read again: for a line parsed without them). */
export function fieldsOf(line: string, o: ParseOptions): Record<string, string> {
  const s = structured(line);
  if (s === undefined) return {};
  const rec = s.rec;
  // Not counted (no `cut`): only the few lines a debug window ships verbatim are read again here.
  return fieldsOfRecord(rec, [firstKey(rec, MESSAGE_KEYS), firstKey(rec, LEVEL_KEYS), firstKey(rec, TIME_KEYS)], o);
}

function fromRecord(
  rec: Record<string, unknown>,
  line: string,
  stream: 'stdout' | 'stderr',
  fallbackTs: number,
  o: ParseOptions,
  format: 'json' | 'logfmt',
  fieldsFrom: LogLevelValue,
): ParsedLog {
  const msgKey = firstKey(rec, MESSAGE_KEYS);
  const levelKey = firstKey(rec, LEVEL_KEYS);
  const timeKey = firstKey(rec, TIME_KEYS);
  let nestedTooDeep = false;
  const cut = (): void => {
    nestedTooDeep = true;
  };
  const message = msgKey !== undefined ? stringify(rec[msgKey], Infinity, cut) : line;
  const level =
    (levelKey !== undefined ? levelFromValue(rec[levelKey]) : undefined) ??
    levelFromText(message) ??
    levelFromName(stream === 'stderr' ? o.stderrLevel : o.stdoutLevel);
  const parsed = timeKey !== undefined ? timestampFromValue(rec[timeKey], fallbackTs) : undefined;
  const ts = parsed === undefined ? fallbackTs : plausible(parsed, fallbackTs, o);
  const fields = level >= fieldsFrom ? fieldsOfRecord(rec, [msgKey, levelKey, timeKey], o, cut) : {};
  const p: ParsedLog = { ts, level, message, fields, format };
  if (nestedTooDeep) p.nestedTooDeep = true;
  return p;
}

/**
 * Every field but the message, level and time ones, at most `maxFields`, each cut to
 * `maxFieldLength`; `cut` is called for a value nested too deep (jsonText).
 */
function fieldsOfRecord(
  rec: Record<string, unknown>,
  [msgKey, levelKey, timeKey]: Array<string | undefined>,
  o: ParseOptions,
  cut?: () => void,
): Record<string, string> {
  const fields: Record<string, string> = {};
  let kept = 0;
  for (const key in rec) {
    if (kept >= o.maxFields) break;
    if (key === msgKey || key === levelKey || key === timeKey) continue;
    fields[key] = stringify(rec[key], o.maxFieldLength, cut);
    kept++;
  }
  return fields;
}

/**
 * The first of `keys` the record gives a value: a null one counts as absent (`"msg": null` became
 * the message "null", every such line one template), so the next key, or none, is taken.
 */
function firstKey(rec: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = rec[k];
    if (v !== undefined && v !== null) return k;
  }
  return undefined;
}

function stringify(v: unknown, max: number, cut?: () => void): string {
  const s = typeof v === 'string' ? v : jsonText(v, cut);
  return s.length > max ? s.slice(0, max) : s;
}
