/**
 * A light simulated gateway for fleet-control scale (a thousand on two cores, where a full
 * collector each is too heavy): what the center sees of a collector's configuration agent, over
 * the real protocol. It announces itself with the status a collector sends (capabilities with
 * CONFIG_DOC_VERSION, labels, its configuration state), takes `config` commands on its command
 * topic, decodes them with protocol's codec, validates the document over its own collector
 * configuration (the simulator's per-node one, nodeConfig) with the collector's
 * applyRemoteOptions, reports applied (revision, document hash, effective hash) or failed with the
 * reason, and publishes one small encoded batch per window so the rollout's health checks
 * (batches arriving, drops, budget, degrade level) see it alive. It keeps no outbox and resends
 * nothing: it measures the center, not the node.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { applyRemoteOptions, effectiveHash, type CollectorConfig } from '@edge-telemetry/collector';
import {
  createBatchCodec,
  createConfigCodec,
  decodeCommand,
  encodeStatus,
  nodeCapabilities,
  topics,
  type ConfigStatus,
  type StatusMessage,
} from '@edge-telemetry/protocol';
import { sampleBatch, seededRng, type SampleBatchShape } from '@edge-telemetry/protocol/testing';

/** A batch small enough that a thousand nodes' windows are cheap to store, with every section health reads. */
const LIGHT_SHAPE: SampleBatchShape = {
  containers: 2,
  metricsPerContainer: 2,
  logs: 4,
  templates: 2,
  samplesPerMetric: 2,
};
const SOURCES = { lines: ['GET /api/orders 200 12ms', 'cache miss key=42'], values: [1, 2, 3, 5, 8] };

export interface LightNodeInput {
  /** The node's collector configuration (its id, labels, broker URL, window). */
  config: CollectorConfig;
  agentVersion: string;
  now?: () => number;
}

export interface LightNode {
  node: string;
  status(): ConfigStatus;
  /** Batches published (QoS 1, answered by the broker). */
  published(): number;
  close(): Promise<void>;
}

export async function startLightNode(input: LightNodeInput): Promise<LightNode> {
  const { config } = input;
  const node = config.node;
  const now = input.now ?? Date.now;
  const windowMs = config.downsample.windowMs;
  const configCodec = createConfigCodec();
  const batchCodec = createBatchCodec();
  const rng = seededRng(node.length * 7919 + windowMs);
  const epoch = Math.floor(now() / 1000);
  let seq = 0;
  let published = 0;
  let status: ConfigStatus = {
    state: 'applied',
    rev: 0,
    appliedRev: 0,
    docHash: '',
    effectiveHash: effectiveHash(config),
  };
  const statusMessage = (state: StatusMessage['state']): Buffer =>
    encodeStatus({
      v: 1,
      node,
      state,
      at: state === 'online' ? now() : 0,
      agentVersion: input.agentVersion,
      ...(state === 'online' ? { capabilities: nodeCapabilities(false), labels: config.labels, config: status } : {}),
    });
  const m = config.uplink.mqtt;
  const client: MqttClient = await mqtt.connectAsync(m.url, {
    clientId: m.clientId ?? node,
    protocolVersion: 4,
    ...(m.username ? { username: m.username, password: m.password } : {}),
    reconnectPeriod: 1000,
    will: { topic: topics.status(node), payload: statusMessage('offline'), qos: 1, retain: true },
  });
  const publishStatus = () =>
    void client
      .publishAsync(topics.status(node), statusMessage('online'), { qos: 1, retain: true })
      .catch(() => undefined);

  client.on('message', (_topic, payload) => {
    const cmd = decodeCommand(payload);
    if (!cmd.ok || cmd.value.type !== 'config') return;
    const c = cmd.value;
    // As the collector's agent: a revision at or below the one taken changes nothing, the status is said again.
    if (c.rev <= status.rev || c.expiresAt <= now()) return publishStatus();
    const doc = configCodec.document(c);
    const r = doc.ok ? applyRemoteOptions(config, doc.value.options, config) : undefined;
    status =
      r?.ok === true
        ? { state: 'applied', rev: c.rev, appliedRev: c.rev, docHash: c.hash, effectiveHash: effectiveHash(r.config) }
        : {
            ...status,
            state: 'failed',
            rev: c.rev,
            reason: doc.ok ? (r as { reason: string }).reason : `${doc.error.code}: ${doc.error.detail}`,
          };
    publishStatus();
  });
  await client.subscribeAsync(topics.cmd(node), { qos: 1 });
  publishStatus();

  const sendWindow = () => {
    const start = Math.floor(now() / windowMs) * windowMs - windowMs;
    const b = sampleBatch(rng, SOURCES, LIGHT_SHAPE, start);
    seq++;
    const batch = {
      ...b,
      node,
      epoch,
      seq,
      windowEnd: start + windowMs,
      sentAt: now(),
      health: { ...b.health, agentVersion: input.agentVersion },
    };
    void client
      .publishAsync(topics.batch(node), batchCodec.encode(batch), { qos: 1 })
      .then(() => void published++)
      .catch(() => undefined);
  };
  // Spread over the window by node, as collectors started at different times are.
  const offset = Math.floor(rng() * windowMs);
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    sendWindow();
    timer = setInterval(sendWindow, windowMs);
  }, offset);

  return {
    node,
    status: () => ({ ...status }),
    published: () => published,
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}
