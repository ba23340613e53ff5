/**
 * A reader of a process's stdout or stderr that went away (`| head`, a log shipper restarted) loses
 * what is written after, nothing more. Node ignores SIGPIPE, so a write after is an EPIPE 'error' on
 * the stream, and with no listener that error ends the process (exit 1): the ingester on its start
 * line, the collector on its first log line, `edge-telemetry config options collector | true` with
 * a stack trace. Every bin calls this before it writes anything; any other error on these streams
 * still ends the process as before.
 */
export function ignoreClosedPipes(streams: readonly NodeJS.WritableStream[]): void {
  for (const out of streams)
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
}
