/**
 * The uplink: disk outbox, end-to-end acknowledgements, bandwidth budget, MQTT transport.
 * createUplink() wires them; each part is exported for tests and for the lead's wiring.
 */
import { createBatchCodec, type BatchCodec, type NodeCapabilities } from '@edge-telemetry/protocol';
import { connectTransport, type TransportDeps, type TransportHandlers } from './mqtt/transport.js';
import { checkTlsFiles } from './mqtt/tls-files.js';
import { resolveUplinkOptions } from './options.js';
import { Outbox, type CutReport, type OutboxRecord } from './outbox/outbox.js';
import { systemClock, type Clock } from './sender/clock.js';
import { Uplink, type UplinkDeps } from './sender/uplink.js';

export { UplinkOptionsSchema, resolveUplinkOptions, type UplinkOptions, type UplinkOptionsInput } from './options.js';
export {
  Outbox,
  segmentBytesOnDisk,
  type OutboxRecord,
  type OutboxStats,
  type CutReport,
  type OutboxHooks,
} from './outbox/outbox.js';
export { OutboxOptionsSchema, type OutboxOptions } from './outbox/options.js';
export { BudgetOptionsSchema, type BudgetOptions } from './budget/options.js';
export {
  createBudgetState,
  tryTake,
  snapshot,
  capacityWithin,
  degradeLevel,
  type BudgetState,
  type BudgetSnapshot,
} from './budget/budget.js';
export { MqttOptionsSchema, type MqttOptions } from './mqtt/options.js';
export { connectTransport, type Transport, type TransportHandlers } from './mqtt/transport.js';
export { SenderOptionsSchema, type SenderOptions } from './sender/options.js';
export {
  Uplink,
  EVICT_STAGE,
  ENCODE_STAGE,
  type EncodeRefusal,
  type UplinkStats,
  type UplinkHealth,
  type Delivery,
} from './sender/uplink.js';
export {
  PriorityClass,
  PRIORITY_CLASS_REASONS,
  type PriorityClassValue,
  type BatchDraft,
} from '../batch/priority-classes.js';
export { systemClock, acceleratedClock, type Clock } from './sender/clock.js';

export interface CreateUplinkInput {
  node: string;
  agentVersion: string;
  /** Said in the birth message. */
  capabilities?: NodeCapabilities;
  /** Labels and configuration state, said in every online status (TransportDeps.status). */
  status?: TransportDeps['status'];
  /** Raw options (defaults are filled in and validated). */
  options: unknown;
  codec?: BatchCodec;
  clock?: Clock;
  onCommand?: TransportHandlers['onCommand'];
  onBadMessage?: TransportHandlers['onBadMessage'];
  onDelivered?: UplinkDeps['onDelivered'];
  /** Batches the codec refuses: counted here as drops, and each one reported (log it). */
  drops?: UplinkDeps['drops'];
  onEncodeRefused?: UplinkDeps['onEncodeRefused'];
  onConnectError?: TransportDeps['onConnectError'];
  onProtocolFallback?: TransportDeps['onProtocolFallback'];
  /** Corrupt or torn outbox bytes cut at open (log and count them). */
  onCut?: (cut: CutReport) => void;
  onEvict?: (rec: OutboxRecord) => void;
  /** Records of torn groups dropped at open (their lines are read again). */
  onOrphans?: (records: number) => void;
  /** Frees disk space on the outbox's volume when a write finds it full (OutboxHooks.freeSpace). */
  freeSpace?: () => Promise<boolean>;
}

/** zstd level of frames re-encoded against references when they leave from the backlog queue. */
const BULK_REFERENCE_LEVEL = 3;
/**
 * Keyframes of their class a frame from the backlog queue is compressed against (live frames: the
 * sender's `references`, 12). At level 3 a longer prefix costs CPU in proportion and saves nothing:
 * the 68 windows of the 50 MiB backlog mix (bench/collector-backlog.bench.ts) re-encoded against 12
 * keyframes took 3.1-7.4 us per verbatim line and 1,628,810 bytes, against 2 took 1.9-2.9 us and
 * 1,613,741 bytes (against none, 1,674,792).
 */
const BULK_REFERENCES = 2;

/** Opens the outbox (scanning and repairing it), then connects; resolves before the first connect completes. */
export async function createUplink(input: CreateUplinkInput): Promise<Uplink> {
  const options = resolveUplinkOptions(input.options);
  const clock = input.clock ?? systemClock;
  await checkTlsFiles(options.mqtt.tls);
  const outbox = await Outbox.open(options.outbox, {
    onCut: input.onCut,
    onEvict: input.onEvict,
    onOrphans: input.onOrphans,
    freeSpace: input.freeSpace,
  });
  return new Uplink({
    node: input.node,
    outbox,
    codec: input.codec ?? createBatchCodec(),
    // A caller's own codec serves both (the fleet simulator's is already cheap); ours drains a
    // backlog at zstd's default level against its newest references (bench/collector-backlog.bench.ts).
    ...(input.codec
      ? {}
      : { bulk: { codec: createBatchCodec({ referenceLevel: BULK_REFERENCE_LEVEL }), references: BULK_REFERENCES } }),
    clock,
    options: options.sender,
    budget: options.budget,
    connect: (handlers) =>
      connectTransport({
        node: input.node,
        agentVersion: input.agentVersion,
        capabilities: input.capabilities,
        status: input.status,
        options: options.mqtt,
        handlers,
        now: () => clock.now(),
        onConnectError: input.onConnectError,
        onProtocolFallback: input.onProtocolFallback,
      }),
    onCommand: input.onCommand,
    onBadMessage: input.onBadMessage,
    onDelivered: input.onDelivered,
    drops: input.drops,
    onEncodeRefused: input.onEncodeRefused,
  });
}
