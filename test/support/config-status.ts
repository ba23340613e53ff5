/**
 * Watches a node's status topic as the center does, keeping every configuration state it said in
 * order, for the fleet-control tests that wait on what a node reports.
 */
import mqtt from 'mqtt';
import { decodeStatus, topics, type ConfigStatus } from '@edge-telemetry/protocol';
import { waitFor } from './wait.js';

export interface ConfigStatusWatch {
  /** Every configuration state the node's status messages said, in order. */
  said: ConfigStatus[];
  /** The first state from index `from` on that `pred` accepts (waits up to 60 s). */
  next(what: string, pred: (s: ConfigStatus) => boolean, from?: number): Promise<ConfigStatus>;
  /** Publishes at QoS 1 (a command to the node, as the center publishes it). */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function watchConfigStatus(brokerUrl: string, node: string, clientId: string): Promise<ConfigStatusWatch> {
  const said: ConfigStatus[] = [];
  const watcher = await mqtt.connectAsync(brokerUrl, { clientId, protocolVersion: 4 });
  watcher.on('message', (_t, payload) => {
    const s = decodeStatus(payload, node);
    if (s.ok && s.value.config) said.push(s.value.config);
  });
  await watcher.subscribeAsync(topics.status(node), { qos: 1 });
  return {
    said,
    next: (what, pred, from = 0) =>
      waitFor(what, () => said.slice(from).find(pred), { timeoutMs: 60_000, intervalMs: 50 }),
    publish: async (topic, payload) => {
      await watcher.publishAsync(topic, payload, { qos: 1 });
    },
    close: () => watcher.endAsync(true),
  };
}
