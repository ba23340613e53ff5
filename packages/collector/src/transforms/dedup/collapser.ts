import type { DedupOptions } from './options.js';

/** What the collapser needs of an event: identity, and a repeat count it may raise. */
export interface Collapsible {
  level: number;
  stream: string;
  message: string;
  repeat: number;
}

/**
 * Collapses consecutive duplicates of one container: an event is held until a different one
 * arrives (or `take()` at the window end); identical followers only raise its `repeat`.
 */
export class DuplicateCollapser<E extends Collapsible> {
  private held: E | undefined;

  constructor(private readonly options: DedupOptions) {}

  /** Returns the event that is now complete, if any. */
  push(e: E): E | undefined {
    const h = this.held;
    if (!this.options.enabled) return e;
    if (
      h !== undefined &&
      h.message === e.message &&
      h.level === e.level &&
      h.stream === e.stream &&
      h.repeat < this.options.maxRepeat
    ) {
      h.repeat += e.repeat;
      return undefined;
    }
    this.held = e;
    return h;
  }

  /** The event held now (the run being collapsed), if any. */
  get current(): E | undefined {
    return this.held;
  }

  /** The held event, if any; the collapser is empty afterwards. */
  take(): E | undefined {
    const h = this.held;
    this.held = undefined;
    return h;
  }
}
