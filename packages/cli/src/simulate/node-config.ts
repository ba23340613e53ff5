/**
 * One simulated gateway's collector configuration: its own node id, data folder (outbox, log
 * store) and MQTT client id, the demo sources instead of this machine's, no HTTP listener.
 */
import path from 'node:path';
import { createPrng, loadCollectorConfig, seedFrom, type CollectorConfig } from '@edge-telemetry/collector';
import type { SimulateOptions } from './options.js';

/** Node ids sort in creation order: sim-0001 ... sim-1000 (sim-1, sim-2 for two). */
export function nodeId(prefix: string, index: number, nodes: number): string {
  return `${prefix}-${String(index + 1).padStart(String(nodes).length, '0')}`;
}

/** Gateways run 8 to 30 containers (seeded by the node id, so a rerun shows the same fleet). */
export function containerCount(node: string): number {
  return 8 + Math.floor(createPrng(seedFrom(node))() * 23);
}

/**
 * `brokerUrl` is where this node connects: the broker, or its outage gate in front of it;
 * `password`, when the broker has an account for this node (user and client id = node id).
 */
export function nodeConfig(o: SimulateOptions, node: string, brokerUrl: string, password?: string): CollectorConfig {
  return loadCollectorConfig([], {
    EDGE_TELEMETRY_NODE: node,
    EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(o.dataDir, node),
    EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: String(o.scrapeMs),
    EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: String(o.windowMs),
    EDGE_TELEMETRY_COLLECTOR_SOURCES_HOST_ENABLED: 'false',
    EDGE_TELEMETRY_COLLECTOR_SOURCES_CGROUP_ENABLED: 'false',
    EDGE_TELEMETRY_COLLECTOR_SOURCES_DEMO_CONTAINERS: String(o.containers ?? containerCount(node)),
    EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '-1',
    EDGE_TELEMETRY_COLLECTOR_STORE_ENABLED: String(o.logStore),
    EDGE_TELEMETRY_COLLECTOR_STORE_MAX_BYTES: String(32 * 1024 * 1024),
    EDGE_TELEMETRY_COLLECTOR_UPLINK_OUTBOX_CAP_BYTES: String(32 * 1024 * 1024),
    EDGE_TELEMETRY_COLLECTOR_UPLINK_SENDER_ACK_TIMEOUT_MS: String(o.ackTimeoutMs),
    MQTT_URL: brokerUrl,
    EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_PROTOCOL_VERSION: String(o.mqttVersion),
    ...(password !== undefined && {
      EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_USERNAME: node,
      EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_PASSWORD: password,
      EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_CLIENT_ID: node,
    }),
  });
}
