#!/usr/bin/env node
/** `edge-telemetry-collector [--config file]`: one collector for this gateway. */
import { ConfigError } from '@edge-telemetry/protocol';
import { buildCollector } from '../build-collector.js';
import { loadCollectorConfig } from '../config/load.js';
import { createJsonLogger } from '../runtime/logger.js';

const log = createJsonLogger();
let config;
try {
  config = loadCollectorConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`edge-telemetry-collector: ${err.message}\n`);
  process.exit(2);
}

const running = await buildCollector(config, createJsonLogger(process.stderr, { node: config.node }));
await running.collector.start();

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
