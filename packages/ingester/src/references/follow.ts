/**
 * Keeps an ingester of a shared subscription ahead of what its batches need from the other
 * ingesters: every `intervalMs` it reads the keyframes stored since it last looked
 * (ReferenceStore.catchUp) and the template texts stored since (TemplateTextResolver.catchUp),
 * most of them stored by the other ingesters. A node refers only to keyframes acknowledged at
 * least a window earlier, and leaves a text out only once the batch that carried it was
 * acknowledged, so they are here before the batches that need them, and the read that a miss
 * costs (in the batch's path, and in its node lane's) is left for what this misses. The first
 * look is at once: it warms a started or restarted ingester up on the recent ones.
 */
import type { Logger } from '../logger.js';
import type { ReferenceStore } from './store.js';
import type { TemplateTextResolver } from '../template-texts/resolver.js';

export interface ReferenceFollower {
  /** Stops reading ahead (a read running now ends on its own; its rows still go to the caches). */
  close(): void;
}

/** Says at most this often that read-ahead keyframes were given up for room. */
const DROPPED_WARN_MS = 10 * 60_000;

export function followReferences(o: {
  store: Pick<ReferenceStore, 'catchUp' | 'stats'>;
  texts?: Pick<TemplateTextResolver, 'catchUp'>;
  intervalMs: number;
  /** referenceCacheMiB, for the warning that it is too small. */
  cacheMiB: number;
  logger: Logger;
  now?: () => number;
}): ReferenceFollower {
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let warnedAt = -Infinity;
  let droppedSaid = 0;
  const next = () => {
    if (closed) return;
    // Unref'd: reading ahead never keeps a process alive.
    timer = setTimeout(() => void tick(), o.intervalMs).unref();
  };
  const attempt = async (what: string, read: () => Promise<number>) => {
    try {
      await read();
    } catch (err) {
      // Nothing is lost: a batch whose references or texts are not here reads them itself.
      o.logger.warn({ err: (err as Error).message }, `${what} not read ahead; batches that need them read them`);
    }
  };
  const tick = async () => {
    await attempt('keyframes', () => o.store.catchUp());
    if (o.texts) await attempt('template texts', () => (o.texts as Pick<TemplateTextResolver, 'catchUp'>).catchUp());
    const dropped = o.store.stats().followDropped;
    if (dropped > droppedSaid && now() - warnedAt >= DROPPED_WARN_MS) {
      o.logger.warn(
        { dropped, since: dropped - droppedSaid, referenceCacheMiB: o.cacheMiB },
        "keyframes read ahead were given up unused for room: referenceCacheMiB is below the fleet's keyframes (about 1.2 MiB per node of the whole fleet with mqtt.sharedGroup); batches that need them read them on a miss",
      );
      warnedAt = now();
      droppedSaid = dropped;
    }
    next();
  };
  void tick();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
