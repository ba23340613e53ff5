/**
 * One JSON object per line on stderr: what container log drivers and `docker logs` expect, and
 * what the collector's own log pipeline parses when it watches itself.
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createJsonLogger(
  out: { write(s: string): unknown } = process.stderr,
  base: Record<string, unknown> = {},
): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    out.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }) + '\n');
  return {
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}
