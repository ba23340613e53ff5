/**
 * Wraps the real ClickHouse connection so that any insert whose rows contain `marker` is refused
 * the way ClickHouse refuses a row it cannot parse (the error the client makes of the server's
 * answer); every other call reaches the real engine unchanged.
 */
import { Readable } from 'node:stream';
import type { StorageConnection } from '../src/storage/client.js';

export function refuseRowsContaining(marker: string) {
  return (inner: StorageConnection): StorageConnection => ({
    ping: (p) => inner.ping(p),
    query: (p) => inner.query(p),
    insert: (p) => inner.insert(p),
    command: (p) => inner.command(p),
    close: () => inner.close(),
    exec: async (p) => {
      if (!p.values) return inner.exec(p);
      let body = '';
      for await (const chunk of p.values) body += String(chunk);
      if (body.includes(marker)) {
        throw Object.assign(new Error("Cannot parse input: expected '\"' before: 'x': (at row 1)"), {
          code: '27',
          type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
        });
      }
      return inner.exec({ ...p, values: Readable.from([body], { objectMode: false, encoding: 'utf8' }) });
    },
  });
}
