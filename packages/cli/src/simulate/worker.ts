/**
 * Worker thread entry: runs one shard of the simulated fleet in its own event loop and answers
 * the main thread's requests for figures and for a clean stop.
 */
// First: before anything loads mqtt (src/mqtt-prefixes.ts): each worker has its own modules.
import '../mqtt-prefixes.js';
import { parentPort, workerData } from 'node:worker_threads';
import { createJsonLogger, type Logger } from '@edge-telemetry/collector';
import { startShard, type ShardInput } from './fleet-shard.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

const port = parentPort;
if (port === null) throw new Error('simulate/worker.js runs as a worker thread');
const send = (m: FromWorker) => port.postMessage(m);
const json = createJsonLogger(process.stderr);
// A thousand "collector started" lines say nothing; warnings and errors still do.
const log: Logger = { info: () => undefined, warn: json.warn, error: json.error };
/** A catalogued error (a `code`: a node's data directory in use, ...) is said as such; a stack only for a bug. */
const failed = (err: unknown): FromWorker => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string'
    ? { type: 'failed', error: (err as Error).message, code }
    : { type: 'failed', error: (err as Error).stack ?? String(err) };
};

try {
  const shard = await startShard(workerData as ShardInput, log);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'figures') send({ type: 'figures', figures: shard.figures(), loopDelay: shard.loopDelay() });
    else
      void shard.stop().then(
        (figures) => {
          send({ type: 'stopped', figures });
          port.close();
        },
        (err: Error) => send(failed(err)),
      );
  });
  send({ type: 'started' });
} catch (err) {
  send(failed(err));
  port.close();
}
