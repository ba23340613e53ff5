/**
 * The configuration's patterns (log filters and container overrides, redaction rules, name globs)
 * run on every log line, and the center can push them to every node at once. On V8's backtracking
 * engine some take exponential time: a filter `(a+)+$` spent 15 s on one line of 28 "a"s and a
 * "!", and minutes on 40, with the collector's one event loop blocked meanwhile (no window sealed,
 * no ack read, no log read). With this V8 flag a match that backtracks excessively is run again
 * on V8's linear-time engine, which gives the same answer for every pattern it can run (all but
 * backreferences and lookarounds, which stay on the backtracking engine). Process-wide, like the
 * engine itself; it takes effect for regular expressions compiled before it too.
 */
import v8 from 'node:v8';

export function boundRegexpBacktracking(): void {
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}
