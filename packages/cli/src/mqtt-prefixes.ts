/**
 * Imported first by the CLI's entry points (the bin, the simulator's workers), before anything
 * loads mqtt or aedes: `start`'s embedded broker writes every node's batches, of every size, and
 * the simulator's nodes publish theirs (the ingester's consumer/mqtt-packet-prefixes.ts says why).
 * The ingester's own mqtt is included in case it is not the CLI's copy.
 */
import { createRequire } from 'node:module';
import { unpinMqttPacketPrefixes } from '@edge-telemetry/ingester/mqtt-packet-prefixes';

unpinMqttPacketPrefixes([
  import.meta.resolve('aedes'),
  import.meta.resolve('mqtt'),
  createRequire(import.meta.resolve('@edge-telemetry/ingester')).resolve('mqtt'),
]);
