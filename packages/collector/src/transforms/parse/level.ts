import { LogLevel, type LogLevelValue } from '@edge-telemetry/protocol';

/** Level names and aliases as applications write them (JSON/logfmt values, syslog names, letters). */
const NAMES: Record<string, LogLevelValue> = {
  trace: LogLevel.trace,
  finest: LogLevel.trace,
  debug: LogLevel.debug,
  dbg: LogLevel.debug,
  fine: LogLevel.debug,
  verbose: LogLevel.debug,
  info: LogLevel.info,
  information: LogLevel.info,
  // PostgreSQL's informative messages (`LOG:  connection received`), which it writes to stderr.
  log: LogLevel.info,
  notice: LogLevel.info,
  warn: LogLevel.warn,
  warning: LogLevel.warn,
  error: LogLevel.error,
  err: LogLevel.error,
  severe: LogLevel.error,
  fatal: LogLevel.fatal,
  critical: LogLevel.fatal,
  crit: LogLevel.fatal,
  panic: LogLevel.fatal,
  emerg: LogLevel.fatal,
  emergency: LogLevel.fatal,
  alert: LogLevel.fatal,
  t: LogLevel.trace,
  d: LogLevel.debug,
  v: LogLevel.debug,
  i: LogLevel.info,
  w: LogLevel.warn,
  e: LogLevel.error,
  f: LogLevel.fatal,
};

/** A level value from a structured field: a name, an alias, or a number (syslog 0-7 or bunyan/pino 10-60). */
export function levelFromValue(value: unknown): LogLevelValue | undefined {
  if (typeof value === 'string') {
    // Own names only: `{"level":"constructor"}` found Object.prototype's function, a "level" that
    // no level count, verbatim rule or store encoder could take.
    const name = value.toLowerCase();
    return Object.hasOwn(NAMES, name) ? NAMES[name] : undefined;
  }
  if (typeof value === 'number') {
    if (value >= 10)
      return value >= 60
        ? LogLevel.fatal
        : value >= 50
          ? LogLevel.error
          : value >= 40
            ? LogLevel.warn
            : value >= 30
              ? LogLevel.info
              : value >= 20
                ? LogLevel.debug
                : LogLevel.trace;
    if (value >= 0 && value <= 7)
      return value <= 2
        ? LogLevel.fatal
        : value === 3
          ? LogLevel.error
          : value === 4
            ? LogLevel.warn
            : value <= 6
              ? LogLevel.info
              : LogLevel.debug;
  }
  return undefined;
}

/**
 * A level keyword near the start of a text line. Only upper-case or capitalised words count, in
 * the first 160 characters: lower-case "error" in a sentence ("parity error corrected") is prose,
 * not a level.
 */
const KEYWORD =
  /\b(TRACE|Trace|DEBUG|Debug|INFO|Info|NOTICE|Notice|WARN|Warn|WARNING|Warning|ERROR|Error|ERR|SEVERE|Severe|FATAL|Fatal|CRITICAL|Critical|CRIT|PANIC|Panic|EMERG|LOG(?=:))\b/;
/**
 * A lower-case level in brackets as a header field: nginx's error log (`2026/03/01 10:00:01 [error]`)
 * and Apache's (`[...] [core:error]`, module first). Only at the start, after a time's digit or after
 * another bracketed field: `saw an [error] in the config` is prose. These servers write every line
 * to stderr, so without it each took the stream's level.
 */
const BRACKETED = /(?:^|[\d\]] )\[(?:[a-z_]+:)?(trace|debug|info|notice|warn|error|crit|alert|emerg)\]/;
/** klog / glog: `E0612 10:00:00.000000 ...`. */
const KLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}/;

export function levelFromText(text: string): LogLevelValue | undefined {
  const g = KLOG.exec(text);
  if (g !== null) return NAMES[(g[1] as string).toLowerCase()];
  const head = text.length > 160 ? text.slice(0, 160) : text;
  const k = KEYWORD.exec(head);
  const b = head.includes('[') ? BRACKETED.exec(head) : null;
  // The earlier one is the header's: a message may name another level after it.
  const m = b !== null && (k === null || b.index < k.index) ? b : k;
  if (m !== null) return NAMES[(m[1] as string).toLowerCase()];
  if (
    head.startsWith('Traceback (most recent call last)') ||
    head.startsWith('panic: ') ||
    /^Exception in thread /.test(head)
  )
    return LogLevel.error;
  return undefined;
}

export function levelFromName(name: keyof typeof LogLevel): LogLevelValue {
  return LogLevel[name];
}
