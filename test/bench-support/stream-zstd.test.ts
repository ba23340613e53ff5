import { describe, expect, it } from 'vitest';
import binding from 'zstd-napi/binding.js';
import { persistentZstd } from '../../bench/support/stream-zstd.js';

/** A receiver holding the matching stream: decodes each message as it arrives. */
function receiver(): (msg: Uint8Array) => Buffer {
  const dctx = new binding.DCtx();
  const out = Buffer.alloc(1 << 20);
  return (msg) => {
    let rest = msg;
    const parts: Buffer[] = [];
    while (rest.length > 0) {
      const [, written, consumed] = dctx.decompressStream(out, rest);
      parts.push(Buffer.from(out.subarray(0, written)));
      rest = rest.subarray(consumed);
    }
    return Buffer.concat(parts);
  };
}

describe('persistentZstd', () => {
  it('flushes every message so that it decodes on arrival, and later messages reuse earlier ones as history', () => {
    const send = persistentZstd(3);
    const recv = receiver();
    const text = (i: number) => Buffer.from(Array.from({ length: 200 }, (_, k) => `container-${k % 30} cpu.usage_pct ${(k * 7919 + i) % 1000}`).join('\n'));
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const msg = send(text(i));
      sizes.push(msg.length);
      expect(recv(msg).equals(text(i))).toBe(true);
    }
    // The same message again costs almost nothing: it is all history.
    const again = send(text(2));
    expect(recv(again).equals(text(2))).toBe(true);
    expect(again.length).toBeLessThan((sizes[0] as number) / 10);
  });
});
