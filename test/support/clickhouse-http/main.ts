/**
 * The test server as a process of its own (one engine per process):
 *   node --import tsx main.ts --data-dir <dir> [--port 0] [--host 127.0.0.1] [--database <db>]...
 *     [--user <name>:<password>]... [--keep-alive-timeout-s 30] [--keep-alive-max-requests 1000]
 * Prints `clickhouse-http listening on <url>` once it serves; SIGTERM/SIGINT close it.
 */
import { parseArgs } from 'node:util';
import { startClickHouseHttpServer } from './server.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    database: { type: 'string', multiple: true, default: [] },
    user: { type: 'string', multiple: true, default: [] },
    'keep-alive-timeout-s': { type: 'string', default: '30' },
    'keep-alive-max-requests': { type: 'string', default: '1000' },
  },
});
if (!values['data-dir']) {
  process.stderr.write('--data-dir is required\n');
  process.exit(2);
}
const users = values.user.length
  ? Object.fromEntries(
      values.user.map((u) => {
        const i = u.indexOf(':');
        return i < 0 ? [u, ''] : [u.slice(0, i), u.slice(i + 1)];
      }),
    )
  : undefined;
const server = await startClickHouseHttpServer({
  dataDir: values['data-dir'],
  host: values.host,
  port: Number(values.port),
  databases: values.database,
  ...(users ? { users } : {}),
  keepAliveTimeoutS: Number(values['keep-alive-timeout-s']),
  keepAliveMaxRequests: Number(values['keep-alive-max-requests']),
});
process.stdout.write(`clickhouse-http listening on ${server.url}\n`);
let closing = false;
const stop = () => {
  if (closing) process.exit(130);
  closing = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
