/**
 * `edge-telemetry simulate --nodes N --broker URL`: N real collectors (each its own node id,
 * outbox, log store and broker session) in one process, fed by the demo sources instead of this
 * machine's containers. Used by `start --simulate N` and to load an ingester with a fleet.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCollector, createJsonLogger, loadCollectorConfig, type RunningCollector } from '@edge-telemetry/collector';
import { createPrng, seedFrom } from '@edge-telemetry/collector';
import type { CommandIo } from './index.js';

export async function runSimulate(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '5' },
      broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      'mqtt-version': { type: 'string', default: '5' },
      'data-dir': { type: 'string', default: './data/simulated' },
      prefix: { type: 'string', default: 'sim' },
      'scrape-ms': { type: 'string', default: '10000' },
      'window-ms': { type: 'string', default: '60000' },
      duration: { type: 'string' },
    },
  });
  const n = Number(values.nodes);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    io.stderr.write('simulate: --nodes must be a whole number from 1 to 10000\n');
    return 2;
  }
  const log = createJsonLogger(io.stderr);
  const running: RunningCollector[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((r) => r.collector.flush().then(() => r.stop())));
  };

  for (let i = 1; i <= n; i++) {
    const node = `${values.prefix}-${String(i).padStart(String(n).length, '0')}`;
    const rnd = createPrng(seedFrom(node));
    const config = loadCollectorConfig([], {
      EDGE_TELEMETRY_NODE: node,
      EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.resolve(values['data-dir'], node),
      EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: values['scrape-ms'],
      EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: values['window-ms'],
      EDGE_TELEMETRY_COLLECTOR_SOURCES_HOST_ENABLED: 'false',
      EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '-1',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_CGROUP_ENABLED: 'false',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_DEMO_CONTAINERS: String(8 + Math.floor(rnd() * 23)),
      EDGE_TELEMETRY_COLLECTOR_STORE_MAX_BYTES: String(32 * 1024 * 1024),
      EDGE_TELEMETRY_COLLECTOR_UPLINK_OUTBOX_CAP_BYTES: String(32 * 1024 * 1024),
      MQTT_URL: values.broker,
      EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_PROTOCOL_VERSION: values['mqtt-version'],
    });
    const r = await buildCollector(config, log);
    await r.collector.start();
    running.push(r);
  }
  io.stdout.write(`simulating ${n} gateways against ${values.broker}\n`);

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // Started by `edge-telemetry start` with an IPC channel: when that parent dies, stop too.
    // The channel itself must not keep the process alive.
    if (process.connected) {
      process.once('disconnect', done);
      process.channel?.unref();
    }
    if (values.duration) setTimeout(done, Number(values.duration) * 1000).unref();
  });
  await stopAll();
  return 0;
}
