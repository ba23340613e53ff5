/**
 * A tiny stand-in for the ingester in uplink tests: subscribes to every node's batches, stores
 * each (node, epoch, seq) once (as the ingester's idempotent insert does), and acknowledges
 * stored and duplicate batches alike. `acking = false` plays an ingester whose ClickHouse is down.
 * Like the ingester, it keeps keyframe bodies (in memory) and answers `resend` for a batch
 * compressed against a body it does not hold; `forgetReferences()` plays an ingester that lost them.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createBatchCodec, encodeAck, parseUpTopic, topics, type Batch } from '@edge-telemetry/protocol';

export interface Acker {
  /** First arrival of each key, in arrival order. */
  readonly stored: Batch[];
  readonly duplicates: number;
  readonly rejected: number;
  /** Batches answered with `resend` (unknown reference) and batches that arrived compressed against references. */
  readonly resendAsked: number;
  readonly referenced: number;
  acking: boolean;
  forgetReferences(): void;
  has(epoch: number, seq: number): boolean;
  /** What it holds, for a timeout message. */
  describe(): string;
  close(): Promise<void>;
}

export async function startAcker(url: string): Promise<Acker> {
  const codec = createBatchCodec();
  const client: MqttClient = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId: `acker-${process.pid}-${Date.now()}`,
    clean: true,
    reconnectPeriod: 100,
  });
  const keys = new Set<string>();
  const state = { stored: [] as Batch[], duplicates: 0, rejected: 0, resendAsked: 0, referenced: 0, acking: true };
  const bodies = new Map<string, Buffer>();
  client.on('connect', () => void client.subscribe(topics.ingestFilter(), { qos: 1 }));
  await client.subscribeAsync(topics.ingestFilter(), { qos: 1 });
  client.on('message', (topic, payload) => {
    const t = parseUpTopic(topic);
    if (!t || t.kind !== 'batch') return;
    const head = codec.head(payload);
    if (!head.ok) {
      state.rejected++;
      return;
    }
    if (!state.acking) return;
    const id = head.value.batch;
    const refs = id ? head.value.references.map((seq) => bodies.get(`${t.node}/${id.epoch}/${seq}`)) : [];
    if (id && !refs.every((x): x is Buffer => x !== undefined)) {
      state.resendAsked++;
      client.publish(
        topics.ack(t.node),
        encodeAck({ v: 1, node: t.node, epoch: id.epoch, seqs: [], resend: [id.seq] }),
        { qos: 1 },
      );
      return;
    }
    const r = codec.decodeFrame(payload, t.node, refs as Buffer[]);
    if (!r.ok) {
      state.rejected++;
      return;
    }
    if (id) state.referenced++;
    const b = r.value.batch;
    const k = `${b.node}/${b.epoch}/${b.seq}`;
    if (head.value.keyframe) bodies.set(k, r.value.body);
    if (keys.has(k)) state.duplicates++;
    else {
      keys.add(k);
      state.stored.push(b);
    }
    client.publish(topics.ack(b.node), encodeAck({ v: 1, node: b.node, epoch: b.epoch, seqs: [b.seq] }), { qos: 1 });
  });
  return {
    get stored() {
      return state.stored;
    },
    get duplicates() {
      return state.duplicates;
    },
    get rejected() {
      return state.rejected;
    },
    get resendAsked() {
      return state.resendAsked;
    },
    get referenced() {
      return state.referenced;
    },
    forgetReferences: () => bodies.clear(),
    get acking() {
      return state.acking;
    },
    set acking(v: boolean) {
      state.acking = v;
    },
    has: (epoch, seq) => state.stored.some((b) => b.epoch === epoch && b.seq === seq),
    describe: () => `stored ${state.stored.length}, duplicates ${state.duplicates}`,
    close: () => client.endAsync(true),
  };
}
