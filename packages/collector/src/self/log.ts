/**
 * The one log line shape the metrics side writes: a level, a catalogue code and the facts. The
 * runtime passes its logger in; nothing here writes to stdout itself.
 */
import type { CollectorErrorCode } from '../errors.js';

export interface MetricsLogEntry {
  level: 'info' | 'warn' | 'error';
  code: CollectorErrorCode;
  msg: string;
  /** Bounded facts only: component, container, path, retry delay. */
  fields?: Record<string, string | number>;
}

export type MetricsLog = (entry: MetricsLogEntry) => void;

export const silentLog: MetricsLog = () => undefined;
