/**
 * Refuses MQTT packets above a size before anything buffers them. aedes (through mqtt-packet)
 * collects a packet's bytes until the whole packet has arrived, whatever its announced length, so
 * a 250 MB PUBLISH cost 250 MB of memory and more. This stream sits between the socket and aedes
 * and reads only the framing: each packet's fixed header announces its remaining length (a
 * variable-length integer of up to four bytes) before the body, so a packet that announces more
 * than the limit is refused at its header and the connection is closed at once; the body is never
 * read. The same scan counts PUBLISH packets, so a connection over its publish rate is read slower
 * (guardPackets). Everything else passes through unchanged, with the socket's backpressure.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export interface OversizedPacket {
  /** What the fixed header announced (bytes after the header). */
  announced: number;
  limit: number;
}

type State = { at: 'header' } | { at: 'length'; value: number; shift: number } | { at: 'body'; left: number };

/** MQTT's variable-length integer takes at most four bytes (up to 268,435,455). */
const MAX_LENGTH_BYTES = 4;

export interface ScanResult {
  /** The first packet over the limit, if any (scanning stops there). */
  oversized?: OversizedPacket;
  /** PUBLISH packets whose header was in the chunk. */
  publishes: number;
}

const PUBLISH = 3;

/** Scans the framing of a byte stream chunk by chunk (its state carries over): oversized packets, publishes. */
export function packetScanner(limit: number): (chunk: Buffer) => ScanResult {
  let s: State = { at: 'header' };
  return (chunk) => {
    let publishes = 0;
    let i = 0;
    while (i < chunk.length) {
      if (s.at === 'header') {
        if (chunk[i++]! >> 4 === PUBLISH) publishes++;
        s = { at: 'length', value: 0, shift: 0 };
      } else if (s.at === 'length') {
        const byte = chunk[i++]!;
        const value = s.value + (byte & 0x7f) * 2 ** (7 * s.shift);
        if (byte & 0x80) {
          // A fifth length byte is malformed; mqtt-packet refuses it too, treat it as oversized.
          if (s.shift + 1 >= MAX_LENGTH_BYTES)
            return { oversized: { announced: Number.POSITIVE_INFINITY, limit }, publishes };
          s = { at: 'length', value, shift: s.shift + 1 };
        } else {
          if (value > limit) return { oversized: { announced: value, limit }, publishes };
          s = value === 0 ? { at: 'header' } : { at: 'body', left: value };
        }
      } else {
        const take = Math.min(s.left, chunk.length - i);
        i += take;
        s = take === s.left ? { at: 'header' } : { at: 'body', left: s.left - take };
      }
    }
    return { publishes };
  };
}

export interface GuardOptions {
  maxPacketBytes: number;
  /** Publishes per second a connection may send (token-bucket rate); beyond it the socket is read slower. */
  publishesPerSecond: number;
  publishBurst: number;
  onOversized(p: OversizedPacket): void;
  /** Told when reading a connection pauses for its rate (at most once per pause). */
  onThrottled(pauseMs: number): void;
}

/**
 * The socket as a duplex for aedes: cut (destroyed) at the first packet above the size limit, and
 * read no faster than its publish rate allows. A client over its rate is simply not read for a
 * while, so TCP slows it down at its end: it costs this process nothing (aedes shares the process
 * with the ingester under `start`), and a node within its rate never notices.
 */
export function guardPackets(socket: Socket, o: GuardOptions): Duplex {
  const scan = packetScanner(o.maxPacketBytes);
  let tokens = o.publishBurst;
  let at = Date.now();
  let throttled: NodeJS.Timeout | undefined;
  const guarded = new Duplex({
    read() {
      if (!throttled) socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      clearTimeout(throttled);
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const r = scan(chunk);
    if (r.oversized) {
      socket.pause();
      o.onOversized(r.oversized);
      guarded.destroy();
      return;
    }
    const now = Date.now();
    tokens = Math.min(o.publishBurst, tokens + ((now - at) / 1000) * o.publishesPerSecond) - r.publishes;
    at = now;
    const more = guarded.push(chunk);
    if (tokens < 0 && !throttled) {
      const pauseMs = Math.ceil((-tokens / o.publishesPerSecond) * 1000);
      socket.pause();
      o.onThrottled(pauseMs);
      throttled = setTimeout(() => {
        throttled = undefined;
        socket.resume();
      }, pauseMs);
    } else if (!more) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
