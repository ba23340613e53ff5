/**
 * A plain MQTT client standing in for a gateway: it publishes what a collector would (batches, its
 * status) and collects the acks the ingester sends to its node's ack topic.
 */
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeAck,
  encodeStatus,
  nodeCapabilities,
  topics,
  type AckMessage,
  type StatusMessage,
} from '@edge-telemetry/protocol';
import { waitFor } from './wait.js';

export interface NodeClient {
  client: MqttClient;
  /** Every ack received on the node's ack topic, in arrival order. */
  acks: AckMessage[];
  /** Publishes at QoS 1; resolves on the broker's PUBACK. */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Publishes its status as a collector's birth (online, every capability), with `over` on it. */
  status(over?: Partial<StatusMessage>): Promise<void>;
  /** The first ack that names `seq`. */
  ackFor(seq: number, timeoutMs?: number): Promise<AckMessage>;
  close(): Promise<void>;
}

export async function connectNode(brokerUrl: string, node: string, protocolVersion: 4 | 5 = 4): Promise<NodeClient> {
  const client = await mqtt.connectAsync(brokerUrl, { clientId: node, protocolVersion });
  const acks: AckMessage[] = [];
  client.on('message', (_t, payload) => {
    const a = decodeAck(payload);
    if (a.ok) acks.push(a.value);
  });
  await client.subscribeAsync(topics.ack(node), { qos: 1 });
  return {
    client,
    acks,
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    status: async (over) => {
      const status: StatusMessage = {
        v: 1,
        node,
        state: 'online',
        at: Date.now(),
        agentVersion: 'test',
        capabilities: nodeCapabilities(true),
        ...over,
      };
      await client.publishAsync(topics.status(node), encodeStatus(status), { qos: 1 });
    },
    ackFor: (seq, timeoutMs) =>
      waitFor(`the ack of seq ${seq}`, () => acks.find((a) => a.seqs.includes(seq)), { timeoutMs }),
    close: () => client.endAsync(true),
  };
}
