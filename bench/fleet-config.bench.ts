/**
 * Fleet control on the link (issue 20): the bytes one node receives for a typical configuration
 * change (the `config` command as the ingester publishes it: the merged document, canonical JSON,
 * zstd 19, base64, with its revision, expiry and hash; plus the topic), against the node's full
 * configuration (every option of the collector's schema resolved with its defaults for a gateway
 * with a few container overrides) as JSON compressed with the same zstd level. Deterministic.
 */
import { Compressor } from 'zstd-napi';
import { collectorConfigSpec } from '@edge-telemetry/collector';
import { createConfigCodec, encodeCommand, resolveConfig, topics, type ConfigDocument } from '@edge-telemetry/protocol';
import type { BenchCase, Figure } from './harness.js';

const NODE = 'gw-berlin-0042';

/** A typical change: a fleet-wide level filter and health-check exclusion, a group's throttle for one container. */
const TYPICAL: ConfigDocument = {
  options: {
    logs: {
      defaults: { filter: { minLevel: 'warn', exclude: ['^GET /healthz', '^GET /metrics'] } },
      containers: [{ name: 'plc-bridge*', settings: { filter: { minLevel: 'info' } } }],
    },
  },
};

export const benches: BenchCase[] = [
  {
    name: 'fleet.config_bytes_per_node',
    async run(): Promise<Figure[]> {
      const codec = createConfigCodec();
      const payload = encodeCommand(codec.command(TYPICAL, 1_796_000_000_000, 1_796_003_600_000));
      const ours = payload.length + Buffer.byteLength(topics.cmd(NODE));
      const full = resolveConfig(collectorConfigSpec, {
        file: {
          node: NODE,
          labels: { site: 'berlin', region: 'eu' },
          uplink: { mqtt: { url: 'mqtts://broker.example:8883', username: NODE, password: 'x'.repeat(32) } },
          logs: TYPICAL.options.logs,
        },
        env: {},
      });
      const z = new Compressor();
      z.setParameters({ compressionLevel: 19 });
      const baseline = z.compress(Buffer.from(JSON.stringify(full))).length;
      return [
        {
          name: 'fleet.config_bytes_per_node',
          value: ours,
          unit: 'bytes',
          baseline,
          ratio: baseline / ours,
          note: `a typical change (fleet level filter + 2 excludes, one container override): the config command payload (zstd 19 + base64 + rev/expiry/sha256) plus topic, as published to each node; baseline the full resolved collector configuration as JSON (${Buffer.byteLength(JSON.stringify(full))} B) at zstd 19`,
        },
      ];
    },
  },
];
