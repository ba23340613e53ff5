/**
 * The open gRPC calls: a call is open from its metadata until its message is whole (or it ends).
 * grpc-js reads each call's message into memory as it arrives, before the receiver sees a byte of
 * it, and HTTP/2 flow control does not bound that: one connection with 100 streams each sending
 * 4 MB of a message never finished held 400 MB. So a call may read only while fewer than `total`
 * calls read (`total` x maxDecodedBytes is what partial messages can hold) and fewer than
 * `perAddress` from its client address (one client cannot take every slot); the others wait with
 * their streams paused, which flow control does bound, in order of arrival.
 */
import { createTally } from '@edge-telemetry/protocol/net';

export interface CallGate {
  /** Queues a call from `address`; `start` is called once it may read (now or when a slot frees). */
  open(address: string, start: () => void): GateEntry;
  /** Calls reading and calls waiting, for the receiver's gauges. */
  counts(): { reading: number; waiting: number };
}

export interface GateEntry {
  readonly reading: boolean;
  /** The call's message is whole, or the call ended: its slot (or its place in the queue) is given up. */
  done(): void;
}

interface Entry extends GateEntry {
  reading: boolean;
  address: string;
  start: () => void;
}

export function createCallGate(total: number, perAddress: number): CallGate {
  const waiting: Entry[] = [];
  const readingBy = createTally();
  let reading = 0;

  const mayRead = (address: string) => reading < total && readingBy.get(address) < perAddress;
  const begin = (e: Entry) => {
    e.reading = true;
    reading++;
    readingBy.add(e.address, 1);
    e.start();
  };
  const admitWaiting = () => {
    for (let i = 0; i < waiting.length && reading < total;) {
      const e = waiting[i] as Entry;
      if (!mayRead(e.address)) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      begin(e);
    }
  };

  return {
    open(address, start) {
      let ended = false;
      const e: Entry = {
        reading: false,
        address,
        start,
        done() {
          if (ended) return;
          ended = true;
          if (!e.reading) {
            waiting.splice(waiting.indexOf(e), 1);
            return;
          }
          reading--;
          readingBy.add(address, -1);
          admitWaiting();
        },
      };
      if (mayRead(address) && waiting.every((w) => w.address !== address)) begin(e);
      else waiting.push(e);
      return e;
    },
    counts: () => ({ reading, waiting: waiting.length }),
  };
}
