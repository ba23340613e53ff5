/**
 * One serial queue (a lane) per node, the lanes run side by side: a node's messages are handled
 * in the order they arrived, different nodes' at the same time. Handled one at a time, a batch
 * that waited (its keyframe read from ClickHouse, 75-190 ms through the chdb shim) held up every
 * node's messages behind it, and after a window the whole fleet's (issue 21); side by side, the
 * batches that wait share one read (references/store.ts).
 *
 * Bounded: `admit` resolves while fewer than `maxMessages` messages (and `maxBytes` of payload)
 * are admitted and unfinished, so that beyond it the MQTT consumer stops reading the socket and
 * the broker holds the rest, as before. A node has a share of that (`maxNodeMessages`,
 * `maxNodeBytes`): waiting at the socket holds every node, so a message beyond its node's share
 * is refused at once instead (the router drops and counts it, as over the node's quota), and one
 * node whose messages are slow to handle cannot fill the lanes on its own.
 */
export interface NodeLanes {
  /**
   * Queues `work` behind the node's earlier messages; resolves once admitted (within the bounds),
   * not when done: true, or false at once when the node's share is full (`work` is not run). A
   * rejection of `work` goes to `onError`.
   */
  admit(node: string, bytes: number, work: () => Promise<void>): Promise<boolean>;
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
  maxNodeMessages: number;
  maxNodeBytes: number;
  onError(err: Error): void;
}

interface Lane {
  /** The node's last admitted message, done when its lane is empty. */
  tail: Promise<void>;
  messages: number;
  bytes: number;
}

export function createNodeLanes(o: NodeLanesOptions): NodeLanes {
  /** The lanes holding messages; a lane is dropped when its last message is done. */
  const lanes = new Map<string, Lane>();
  let messages = 0;
  let bytes = 0;
  const roomWaiters: (() => void)[] = [];
  // One message is always admitted, however large (the codec bounds its size); so is a node's first.
  const full = () => messages > 0 && (messages >= o.maxMessages || bytes >= o.maxBytes);
  const overShare = (l: Lane | undefined) =>
    l !== undefined && (l.messages >= o.maxNodeMessages || l.bytes >= o.maxNodeBytes);

  function finished(lane: Lane, n: number): void {
    messages--;
    bytes -= n;
    lane.messages--;
    lane.bytes -= n;
    while (!full() && roomWaiters.length > 0) roomWaiters.shift()?.();
  }

  return {
    async admit(node, n, work) {
      for (;;) {
        if (overShare(lanes.get(node))) return false;
        if (!full()) break;
        await new Promise<void>((r) => roomWaiters.push(r));
      }
      let lane = lanes.get(node);
      if (!lane) {
        lane = { tail: Promise.resolve(), messages: 0, bytes: 0 };
        lanes.set(node, lane);
      }
      const l = lane;
      messages++;
      bytes += n;
      l.messages++;
      l.bytes += n;
      const tail: Promise<void> = l.tail
        .then(work)
        .catch((err: Error) => o.onError(err))
        .finally(() => {
          finished(l, n);
          if (l.tail === tail) lanes.delete(node);
        });
      l.tail = tail;
      return true;
    },
    async drain() {
      // An admit woken by the last message to finish has set its tail before this looks again.
      while (lanes.size > 0) await Promise.all([...lanes.values()].map((l) => l.tail));
    },
    pending: () => ({ messages, bytes }),
  };
}
