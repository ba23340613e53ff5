/**
 * Refuses MQTT packets above a size before anything buffers them. aedes (through mqtt-packet)
 * collects a packet's bytes until the whole packet has arrived, whatever its announced length, so
 * a 250 MB PUBLISH cost 250 MB of memory and more. This stream sits between the socket and aedes
 * and reads only the framing: each packet's fixed header announces its remaining length (a
 * variable-length integer of up to four bytes) before the body, so a packet that announces more
 * than the limit is refused at its header and the connection is closed at once; the body is never
 * read. Everything else passes through unchanged, with the socket's backpressure.
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

/** Scans the framing of a byte stream; returns the first packet over `limit`, if any. Keeps its state across chunks. */
export function packetScanner(limit: number): (chunk: Buffer) => OversizedPacket | undefined {
  let s: State = { at: 'header' };
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (s.at === 'header') {
        i++;
        s = { at: 'length', value: 0, shift: 0 };
      } else if (s.at === 'length') {
        const byte = chunk[i++]!;
        const value = s.value + (byte & 0x7f) * 2 ** (7 * s.shift);
        if (byte & 0x80) {
          // A fifth length byte is malformed; mqtt-packet refuses it too, treat it as oversized.
          if (s.shift + 1 >= MAX_LENGTH_BYTES) return { announced: Number.POSITIVE_INFINITY, limit };
          s = { at: 'length', value, shift: s.shift + 1 };
        } else {
          if (value > limit) return { announced: value, limit };
          s = value === 0 ? { at: 'header' } : { at: 'body', left: value };
        }
      } else {
        const take = Math.min(s.left, chunk.length - i);
        i += take;
        s = take === s.left ? { at: 'header' } : { at: 'body', left: s.left - take };
      }
    }
    return undefined;
  };
}

/** The socket as a duplex for aedes, cut (destroyed) at the first packet above `limit`. */
export function guardPackets(socket: Socket, limit: number, onRefused: (p: OversizedPacket) => void): Duplex {
  const scan = packetScanner(limit);
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const over = scan(chunk);
    if (over) {
      socket.pause();
      onRefused(over);
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
