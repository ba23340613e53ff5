#!/usr/bin/env node
/** `edge-telemetry-collector [--config file]`: one collector for this gateway. */
import { ConfigError, describeOptions, optionsHelp } from '@edge-telemetry/protocol';
import { buildCollector } from '../build-collector.js';
import { loadCollectorConfig } from '../config/load.js';
import { collectorConfigSpec } from '../config/options.js';
import { CollectorError } from '../errors.js';
import { createJsonLogger } from '../runtime/logger.js';

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

let running;
try {
  running = await buildCollector(config, createJsonLogger(process.stderr, { node: config.node }));
} catch (err) {
  // A taken port or an unusable data directory: say which, and exit non-zero rather than run half a collector.
  if (!(err instanceof CollectorError)) throw err;
  process.stderr.write(`edge-telemetry-collector: ${err.message}\n`);
  process.exit(1);
}
await running.collector.start();
// Started by `edge-telemetry start` (or a test): tell it where /metrics and the OTLP receivers listen (port 0 picks a free port).
process.send?.({
  type: 'ready',
  node: config.node,
  httpUrl: running.httpUrl,
  otlpUrl: running.otlpUrl,
  otlpGrpcUrl: running.otlpGrpcUrl,
});

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  await running.stop({ seal: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// Started by `edge-telemetry start` with an IPC channel: when that parent dies, stop too.
// The channel itself must not keep the process alive.
if (process.connected) {
  process.once('disconnect', () => void stop('parent exited'));
  process.channel?.unref();
}
