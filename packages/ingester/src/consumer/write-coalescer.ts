/**
 * Holds a socket corked until the event loop's check phase, so that what one turn of the loop
 * writes leaves in one writev. mqtt.js writes each packet through mqtt-packet, which corks only
 * until the next tick, so under a window-end burst most PUBACKs and acks were a syscall of their
 * own (issue 21; `npm run bench -- ingester.burst`: write syscalls per batch 1.5 before, 0.5 after).
 * Nothing waits for a timer: the check phase comes before the loop next blocks on I/O.
 */

/** What is corked: the connection's current stream (it changes on reconnect), undefined when none. */
export type CorkableOf = () => { cork(): void; uncork(): void } | undefined;

/** Returns the function to call before each write; the first call in a turn corks, the check phase uncorks. */
export function writeCoalescer(streamOf: CorkableOf): () => void {
  let held = false;
  return () => {
    const stream = streamOf();
    if (held || typeof stream?.cork !== 'function') return;
    held = true;
    stream.cork();
    setImmediate(() => {
      held = false;
      stream.uncork();
    });
  };
}
