/**
 * Each node's share of the ingester (quotas/options.ts): token buckets for its messages and bytes
 * per second on every topic, its dead-letter bytes per UTC day, and a small budget for the log
 * lines its rejections cause. What is over a quota is dropped before any work is done for it and
 * counted per node; the counts are shown in /metrics and the fleet API. One node's flood thus
 * costs a map lookup per message, and the other nodes keep their share.
 *
 * The state map is bounded: past `maxNodes` the least recently seen node's state is dropped, which
 * only ever forgives that node (a fresh bucket is full). With several ingesters on a shared
 * subscription each applies the quotas to the share of a node's messages it receives.
 */
import { owe, take, tokensAt, type Bucket } from './token-bucket.js';
import type { QuotaConfig } from './options.js';

export interface NodeQuotaDrops {
  /** Messages dropped for the message or byte rate or the node's share of the lanes (drop()), and their payload bytes. */
  messages: number;
  bytes: number;
  /** Dead-letter rows not stored for the daily allowance, and their bytes. */
  deadLetters: number;
  deadLetterBytes: number;
}

export interface NodeQuotas {
  /** Takes one message of `bytes` from the node's share; false when it is over (dropped, counted). */
  admit(node: string, bytes: number): boolean;
  /**
   * Takes what a batch of the node decompressed to beyond its wire bytes (taken by admit()) from
   * its byte share, into debt (a burst at most): the byte rate is then what the ingester decodes
   * and stores for the node, not only what it received. A frame of 2 KB on the wire may decompress
   * to 16 MiB of valid rows (30 ms of decoding each, and the writer's room): within the wire quota
   * alone one node sent 200 a second. Nothing is given back (`bytes` below 0: a body smaller than
   * its frame): the wire bytes were received all the same.
   */
  charge(node: string, bytes: number): void;
  /**
   * Whether the node's byte share is below empty (charge()): its batches are dropped before they
   * are decompressed. A read: a node without state (never seen, or forgotten) is not overdrawn.
   */
  overdrawn(node: string): boolean;
  /** Counts a message of the node dropped beyond its share of the messages in hand (consumer/node-lanes.ts). */
  drop(node: string, bytes: number): void;
  /** Takes `bytes` from the node's dead-letter allowance of the day; false when it is spent (counted). */
  admitDeadLetter(node: string, bytes: number): boolean;
  /** Whether a rejection of this node may be logged now: a line a second per node at most (a burst of 10). */
  mayLog(node: string): boolean;
  /** Nodes with drops, most messages dropped first, at most `limit`. */
  drops(limit?: number): (NodeQuotaDrops & { node: string })[];
  /** Drops of every node together (those forgotten by the bound included). */
  totals(): NodeQuotaDrops;
}

interface NodeState {
  messages?: Bucket;
  bytes?: Bucket;
  log?: Bucket;
  day: number;
  deadLetterBytes: number;
  drops: NodeQuotaDrops;
}

const DAY_MS = 86_400_000;
const LOG_RATE = { perSecond: 1, burst: 10 };
const none = (): NodeQuotaDrops => ({ messages: 0, bytes: 0, deadLetters: 0, deadLetterBytes: 0 });

export function createNodeQuotas(o: QuotaConfig, deps: { now?: () => number; maxNodes?: number } = {}): NodeQuotas {
  const now = deps.now ?? Date.now;
  const maxNodes = deps.maxNodes ?? 100_000;
  const nodes = new Map<string, NodeState>();
  const totals = none();
  const messageRate = { perSecond: o.messagesPerSecond, burst: o.messageBurst };
  const byteRate = { perSecond: o.bytesPerSecond, burst: o.byteBurst };

  function state(node: string): NodeState {
    let s = nodes.get(node);
    if (s) nodes.delete(node);
    else s = { day: Math.floor(now() / DAY_MS), deadLetterBytes: 0, drops: none() };
    // Re-inserted: the Map stays in least-recently-seen order, the first key is the one to drop.
    nodes.set(node, s);
    if (nodes.size > maxNodes) nodes.delete(nodes.keys().next().value as string);
    return s;
  }

  function drop(s: NodeState, bytes: number): void {
    s.drops.messages++;
    s.drops.bytes += bytes;
    totals.messages++;
    totals.bytes += bytes;
  }

  return {
    admit(node, bytes) {
      const s = state(node);
      const t = now();
      const m = take(s.messages, t, messageRate);
      s.messages = m.bucket;
      // A message larger than the burst could never pass; the decoder refuses it anyway, so it costs one burst.
      const b = take(s.bytes, t, byteRate, Math.min(bytes, byteRate.burst));
      if (m.result.allowed && b.result.allowed) {
        s.bytes = b.bucket;
        return true;
      }
      // Refused: the message token stays spent (a flood drains its own bucket), the bytes are not taken.
      drop(s, bytes);
      return false;
    },
    drop: (node, bytes) => drop(state(node), bytes),
    charge(node, bytes) {
      if (bytes <= 0) return;
      const s = state(node);
      s.bytes = owe(s.bytes, now(), byteRate, bytes);
    },
    overdrawn(node) {
      // Not state(): that would make state for a node without any and move it in the LRU order.
      const s = nodes.get(node);
      return s !== undefined && tokensAt(s.bytes, now(), byteRate) < 0;
    },
    admitDeadLetter(node, bytes) {
      const s = state(node);
      const day = Math.floor(now() / DAY_MS);
      if (day !== s.day) {
        s.day = day;
        s.deadLetterBytes = 0;
      }
      if (s.deadLetterBytes + bytes <= o.deadLetterBytesPerDay) {
        s.deadLetterBytes += bytes;
        return true;
      }
      s.drops.deadLetters++;
      s.drops.deadLetterBytes += bytes;
      totals.deadLetters++;
      totals.deadLetterBytes += bytes;
      return false;
    },
    mayLog(node) {
      const s = state(node);
      const r = take(s.log, now(), LOG_RATE);
      s.log = r.bucket;
      return r.result.allowed;
    },
    drops(limit = 1000) {
      const out: (NodeQuotaDrops & { node: string })[] = [];
      for (const [node, s] of nodes) if (s.drops.messages + s.drops.deadLetters > 0) out.push({ node, ...s.drops });
      return out
        .sort((a, b) => b.messages - a.messages || b.deadLetters - a.deadLetters || a.node.localeCompare(b.node))
        .slice(0, limit);
    },
    totals: () => ({ ...totals }),
  };
}
