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
export type CommandMessage =
  | { v: 1; type: 'pull'; pullId: string; expiresAt: number; filter: PullFilter; fromChunk: number }
  | { v: 1; type: 'cancel'; pullId: string; expiresAt: number }
  | { v: 1; type: 'resend'; pullId: string; expiresAt: number; chunks: number[] };

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
