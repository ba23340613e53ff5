/**
 * Keeps an ingester of a shared subscription ahead of the references its batches need: every
 * `intervalMs` it reads the keyframes stored since it last looked (ReferenceStore.catchUp), most
 * of them stored by the other ingesters. A node refers only to keyframes acknowledged at least a
 * window earlier, so they are here before the batches that need them, and the read that a miss
 * costs (in the batch's path, and in its node lane's) is left for what this misses: keyframes
 * older than the ingester's start, or stored later than the store's lag allows for.
 */
import type { Logger } from '../logger.js';
import type { ReferenceStore } from './store.js';

export interface ReferenceFollower {
  /** Stops reading ahead (a read running now ends on its own; its rows still go to the cache). */
  close(): void;
}

export function followReferences(o: {
  store: Pick<ReferenceStore, 'catchUp'>;
  intervalMs: number;
  logger: Logger;
}): ReferenceFollower {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const next = () => {
    if (closed) return;
    // Unref'd: reading ahead never keeps a process alive.
    timer = setTimeout(() => void tick(), o.intervalMs).unref();
  };
  const tick = async () => {
    try {
      await o.store.catchUp();
    } catch (err) {
      // Nothing is lost: a batch whose references are not here reads them itself.
      o.logger.warn({ err: (err as Error).message }, 'keyframes not read ahead; batches that need them read them');
    }
    next();
  };
  next();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
