/**
 * The small control messages. Each carries `v` (protocol version) so both ends can refuse
 * what they do not understand. They are JSON on the wire: small, rare, and easy to inspect
 * with mosquitto_sub; the batch and pull chunks, which are large and frequent, are binary.
 */
import type { LogLevelName } from './batch.js';

/** `et/v1/{node}/down/ack`: batches durably stored in ClickHouse. */
export interface AckMessage {
  v: 1;
  node: string;
  epoch: number;
  seqs: number[];
  /**
   * Batches not stored because they were compressed against an earlier batch this ingester does
   * not hold (ET_ERR_UNKNOWN_REFERENCE): the node sends them again standalone. Absent when empty.
   */
  resend?: number[];
}

/** What a node can do, said in its birth message so the center refuses what it cannot answer. */
export interface NodeCapabilities {
  /** The node keeps a full-log store and answers log pulls. */
  logStore: boolean;
  /** Control-message versions (`v` of commands) the node reads. */
  control: number[];
  /** Batch frame versions the node writes. */
  batchFrames: number[];
  /** Configuration document versions (`CONFIG_DOC_VERSION`) the node applies; absent: the node takes no remote configuration. */
  config?: number[];
}

/**
 * A node's remote configuration, as its status says: the revision it last tried and how that went,
 * the hash of the document it applied (the center compares it with what it sent) and of the
 * configuration in force (local file + applied document: nodes with equal hashes run alike).
 */
export interface ConfigStatus {
  state: 'applying' | 'applied' | 'failed';
  /** Revision of the document this state is about (0: none received yet). */
  rev: number;
  /** Why it failed, naming the option (`logs.defaults.filter.minLevel: ...`). */
  reason?: string;
  /** Revision and document hash in force (after a failure: the previous ones, which the node kept). */
  appliedRev: number;
  docHash: string;
  /** sha256 of the configuration in force, without the node's identity and secrets. */
  effectiveHash: string;
  /** Options of the applied document that take effect only at the next start. */
  restartNeeded?: string[];
  /** End (node clock, ms) of a time-boxed debug in force; absent when none is. */
  debugUntil?: number;
}

/** `et/v1/{node}/up/status` (retained; also the last will). */
export interface StatusMessage {
  v: 1;
  node: string;
  state: 'online' | 'offline';
  /** Node clock (ms); 0 in the last will, which is written at connect time. */
  at: number;
  agentVersion: string;
  /** In the birth message; absent in the last will and from nodes that predate it. */
  capabilities?: NodeCapabilities;
  /** The node's own labels (site, region, hardware), from its local configuration: configuration groups select on them. */
  labels?: Record<string, string>;
  /** Its remote configuration; absent in the last will and from nodes that take none. */
  config?: ConfigStatus;
}

export interface PullFilter {
  container?: string;
  since: number;
  until?: number;
  tail?: number;
  level?: LogLevelName;
  grep?: string;
  maxBytes?: number;
}

/** `et/v1/{node}/down/cmd`. The expiry travels in the message: MQTT 3.1.1 has no message expiry. */
export type CommandMessage = PullCommand | ConfigCommand;

/** The log-pull commands (docs/pull.md). */
export type PullCommand =
  | { v: 1; type: 'pull'; pullId: string; expiresAt: number; filter: PullFilter; fromChunk: number }
  | { v: 1; type: 'cancel'; pullId: string; expiresAt: number }
  | { v: 1; type: 'resend'; pullId: string; expiresAt: number; chunks: number[] };

/**
 * The node's remote configuration document (layers merged by the center), compressed. `rev` only
 * grows: a node applies a revision above the one it has and answers an equal one with its status
 * (idempotent), so a command delivered twice, or an older one queued behind a newer, changes nothing.
 */
export interface ConfigCommand {
  v: 1;
  type: 'config';
  rev: number;
  expiresAt: number;
  /** Version of the document's layout (CONFIG_DOC_VERSION); the center sends only versions the node said it reads. */
  docVersion: number;
  /** sha256 (hex) of the document's canonical JSON: the node checks it after decompressing. */
  hash: string;
  /** base64 of the zstd-compressed JSON document (ConfigDocument). */
  doc: string;
}

/** `et/v1/{node}/up/pull/{pullId}`: one chunk of pulled raw log, or the final totals. */
export type PullMessage =
  | { v: 1; type: 'chunk'; node: string; pullId: string; seq: number; lines: string[] }
  | {
      v: 1;
      type: 'end';
      node: string;
      pullId: string;
      chunks: number;
      lines: number;
      bytes: number;
      digest: string;
      error?: string;
    };
