#!/usr/bin/env node
/** `edge-telemetry-ingester [--config file.json]`: runs one ingester until SIGINT/SIGTERM. */
// First: before anything loads mqtt (consumer/mqtt-packet-prefixes.ts).
import './mqtt-prefixes.js';
import { loadConfig, describeOptions } from '../config/load.js';
import { optionsHelp } from '@edge-telemetry/protocol';
import { ignoreClosedPipes } from '@edge-telemetry/protocol/net';
import { createIngester } from '../ingester.js';
import { IngesterError } from '../errors.js';

// A reader of stdout or stderr gone (`| head`, a log shipper restarted) must not take the ingester
// down: it serves on and stops cleanly on SIGTERM. pino's own stream (sonic-boom, on fd 1) stops
// writing by itself then.
ignoreClosedPipes([process.stdout, process.stderr]);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(optionsHelp('usage: edge-telemetry-ingester [--config file.json]', describeOptions()));
  process.exit(0);
}

let config;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  const e = err as IngesterError;
  process.stderr.write(`${e instanceof IngesterError ? `${e.code}: ${e.detail}` : String(err)}\n`);
  process.exit(2);
}

let ingester: ReturnType<typeof createIngester>;
try {
  ingester = createIngester(config);
} catch (err) {
  if (!(err instanceof IngesterError)) throw err;
  process.stderr.write(`${err.code}: ${err.detail}\n`);
  process.exit(1);
}
let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) {
    // A second signal means "now": do not wait for the flush.
    process.exit(130);
  }
  stopping = true;
  ingester.app.log.info({ signal }, 'stopping');
  ingester.stop().then(
    () => process.exit(0),
    (err: Error) => {
      ingester.app.log.error({ err: err.message }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

try {
  const { url } = await ingester.start();
  process.stdout.write(`edge-telemetry ingester API: ${url} (docs: ${url}/docs)\n`);
  // A token made at start is known to nobody else: without printing it the API would be unusable.
  if (ingester.auth.adminToken.generated)
    process.stdout.write(
      `admin token (this process only; set EDGE_TELEMETRY_ADMIN_TOKEN to choose one): ${ingester.auth.adminToken.token}\n`,
    );
} catch (err) {
  ingester.app.log.error({ err: (err as Error).message }, 'start failed');
  await ingester.kill();
  process.exit(1);
}
