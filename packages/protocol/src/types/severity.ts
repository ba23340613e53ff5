/**
 * The protocol's log levels as OpenTelemetry severity numbers (TRACE=1, DEBUG=5, INFO=9, WARN=13,
 * ERROR=17, FATAL=21: the first number of each OTel range), which the ingester stores beside the
 * level name so OTel tools read its tables. Both directions live here, with the levels.
 */
import { LOG_LEVEL_NAMES, type LogLevelName } from './batch.js';

const NUMBERS = [1, 5, 9, 13, 17, 21] as const;

/** The OTel severity number of a protocol level (0..5); 0 (unspecified) for anything else. */
export function otelSeverityNumber(level: number): number {
  return NUMBERS[level] ?? 0;
}

/** The protocol level whose OTel number this is; undefined for numbers no level maps to. */
export function levelOfOtelSeverity(n: number): LogLevelName | undefined {
  const i = NUMBERS.indexOf(n as (typeof NUMBERS)[number]);
  return i < 0 ? undefined : LOG_LEVEL_NAMES[i];
}
