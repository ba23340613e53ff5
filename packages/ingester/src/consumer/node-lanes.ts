/**
 * One serial queue (a lane) per node, the lanes run side by side: a node's messages are handled
 * in the order they arrived, different nodes' at the same time. Handled one at a time, a batch
 * that waited (its keyframe read from ClickHouse, 75-190 ms through the chdb shim) held up every
 * node's messages behind it, and after a window the whole fleet's (issue 21); side by side, the
 * batches that wait share one read (references/store.ts).
 *
 * Bounded: `admit` resolves while fewer than `maxMessages` messages (and `maxBytes` of payload)
 * are admitted and unfinished, so that beyond it the MQTT consumer stops reading the socket and
 * the broker holds the rest, as before.
 */
export interface NodeLanes {
  /**
   * Queues `work` behind the node's earlier messages; resolves once admitted (within the bounds),
   * not when done. A rejection of `work` goes to `onError`.
   */
  admit(node: string, bytes: number, work: () => Promise<void>): Promise<void>;
  /**
   * Resolves when no message is admitted and unfinished: those admitted while it waits too (at
   * stop, the one the consumer was admitting when it paused).
   */
  drain(): Promise<void>;
  /** Messages (and their payload bytes) admitted and not yet done. */
  pending(): { messages: number; bytes: number };
}

export interface NodeLanesOptions {
  maxMessages: number;
  maxBytes: number;
  onError(err: Error): void;
}

export function createNodeLanes(o: NodeLanesOptions): NodeLanes {
  /** Each node's last admitted message, done when its lane is empty. */
  const tails = new Map<string, Promise<void>>();
  let messages = 0;
  let bytes = 0;
  const roomWaiters: (() => void)[] = [];
  // One message is always admitted, however large (the codec bounds its size).
  const full = () => messages > 0 && (messages >= o.maxMessages || bytes >= o.maxBytes);

  function finished(n: number): void {
    messages--;
    bytes -= n;
    while (!full() && roomWaiters.length > 0) roomWaiters.shift()?.();
  }

  return {
    async admit(node, n, work) {
      while (full()) await new Promise<void>((r) => roomWaiters.push(r));
      messages++;
      bytes += n;
      const tail: Promise<void> = (tails.get(node) ?? Promise.resolve())
        .then(work)
        .catch((err: Error) => o.onError(err))
        .finally(() => {
          finished(n);
          if (tails.get(node) === tail) tails.delete(node);
        });
      tails.set(node, tail);
    },
    async drain() {
      // An admit woken by the last message to finish has set its tail before this looks again.
      while (tails.size > 0) await Promise.all(tails.values());
    },
    pending: () => ({ messages, bytes }),
  };
}
