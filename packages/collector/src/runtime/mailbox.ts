/**
 * Holds what a producer posts until its receiver is attached, then hands each item on as it comes.
 * It lets a part that starts producing early (a source's event stream, the MQTT session delivering
 * a queued log-pull command) be built before the part that consumes it (the runtime, the pull
 * responder), so the wiring is built in dependency order with nothing filled in later. Items held
 * before a receiver exists are bounded; the excess is counted, not kept.
 */
export class Mailbox<T> {
  private held: T[] = [];
  private receiver: ((item: T) => void) | undefined;
  /** Items posted while no receiver was attached and the hold was full. */
  overflowed = 0;

  constructor(private readonly maxHeld = 1000) {}

  post(item: T): void {
    if (this.receiver !== undefined) this.receiver(item);
    else if (this.held.length < this.maxHeld) this.held.push(item);
    else this.overflowed++;
  }

  /** Attaches the receiver: what was held is delivered now, in order, and everything later as it is posted. */
  deliverTo(receiver: (item: T) => void): void {
    this.receiver = receiver;
    const held = this.held;
    this.held = [];
    for (const item of held) receiver(item);
  }
}
