#!/usr/bin/env node
/** `edge-telemetry-collector [--config file]`: one collector for this gateway. */
import { ConfigError, describeOptions, optionsHelp } from '@edge-telemetry/protocol';
import { ignoreClosedPipes } from '@edge-telemetry/protocol/net';
import { buildCollector } from '../build-collector.js';
import { loadCollectorConfig } from '../config/load.js';
import { collectorConfigSpec } from '../config/options.js';
import { CollectorError } from '../errors.js';
import { createJsonLogger } from '../runtime/logger.js';

// Its log lines go to stderr and stdout: a reader of them gone (a log shipper restarted) must not
// take the collector down at its next line.
ignoreClosedPipes([process.stdout, process.stderr]);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    optionsHelp('usage: edge-telemetry-collector [--config file.json]', describeOptions(collectorConfigSpec)),
  );
  process.exit(0);
}

const log = createJsonLogger();
let config;
try {
  config = loadCollectorConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`edge-telemetry-collector: ${err.message}\n`);
  process.exit(2);
}

const startUp = (async () => {
  const built = await buildCollector(config, createJsonLogger(process.stderr, { node: config.node }));
  await built.collector.start();
  return built;
})();

// The handlers go in before start-up ends: a SIGTERM that came while the collector was starting (a
// `docker stop` right after a start) killed it without a clean stop. Such a signal waits until
// start-up is done, then stops what started.
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  // A start-up that failed is said and ends the process below, with its own exit code.
  const built = await startUp.catch(() => undefined);
  if (built === undefined) return;
  await built.stop({ seal: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

let running;
try {
  running = await startUp;
} catch (err) {
  // A taken port or an unusable data directory: say which, and exit non-zero rather than run half a collector.
  if (!(err instanceof CollectorError)) throw err;
  process.stderr.write(`edge-telemetry-collector: ${err.message}\n`);
  process.exit(1);
}
// Started by `edge-telemetry start` (or a test): tell it where /metrics and the OTLP receivers listen (port 0 picks a free port).
process.send?.({
  type: 'ready',
  node: config.node,
  httpUrl: running.httpUrl,
  otlpUrl: running.otlpUrl,
  otlpGrpcUrl: running.otlpGrpcUrl,
});

// Started by `edge-telemetry start` with an IPC channel: when that parent dies, stop too.
// The channel itself must not keep the process alive.
if (process.connected) {
  process.once('disconnect', () => void stop('parent exited'));
  process.channel?.unref();
}
