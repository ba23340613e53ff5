import { limits, type LogEvent, type LogTemplate } from '@edge-telemetry/protocol';
import type { DropReport } from './drops.js';

/** A time the protocol carries: a whole number of ms in [0, maxTimestampMs] (1970 to the year 6429). */
const carried = (t: number): boolean => Number.isInteger(t) && t >= 0 && t <= limits.maxTimestampMs;

/**
 * A window's log lines and templates with every time the protocol can carry. A runtime's line may
 * be stamped with Go's zero time (0001-01-01, a time it never set) or year 9999: the pipeline
 * windows it at the node's time (README, "Windows by the lines' own time") but it kept its own,
 * and the codec refused the window's whole WARN+ and templates batches, every container's lines,
 * for that one line. Such a time becomes the window's start (`start`): the line is in this window
 * because it was read then. Each row so moved (a line, a template) is counted as
 * `logs.time`/`not_representable`. Returns the arrays themselves when all fit (a new row only where
 * one does not).
 */
export function carriableTimes(
  logs: LogEvent[],
  templates: LogTemplate[],
  start: number,
  drops: DropReport,
): { logs: LogEvent[]; templates: LogTemplate[] } {
  const at = (t: number) => (carried(t) ? t : start);
  const fits = (t: LogTemplate) => carried(t.firstSeen) && carried(t.lastSeen) && t.samples.every((s) => carried(s.ts));
  return {
    logs: logs.every((l) => carried(l.ts))
      ? logs
      : logs.map((l) => {
          if (carried(l.ts)) return l;
          drops.drop({ stage: 'logs.time', reason: 'not_representable', container: l.container }, l.repeat);
          return { ...l, ts: start };
        }),
    templates: templates.every(fits)
      ? templates
      : templates.map((t) => {
          if (fits(t)) return t;
          drops.drop({ stage: 'logs.time', reason: 'not_representable', container: t.container });
          const firstSeen = at(t.firstSeen);
          return {
            ...t,
            firstSeen,
            // One end moved to the start and not the other (a line at start + 10 s, then a 9999
            // one) would end the row before it began; the receiver's template-text lookback keys on
            // lastSeen.
            lastSeen: Math.max(firstSeen, at(t.lastSeen)),
            samples: t.samples.map((s) => ({ ...s, ts: at(s.ts) })),
          };
        }),
  };
}
