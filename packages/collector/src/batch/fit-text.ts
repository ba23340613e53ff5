import { isWellFormed, limits, toWellFormed } from '@edge-telemetry/protocol';

/** Ends a text that was cut to fit: the whole line stays in the node's full-log store (log pull). */
export const CUT_MARK = ' …[cut]';

/**
 * A text as a batch can carry it: well-formed UTF-16 (a lone surrogate, as a cut between the two
 * halves of a pair leaves, becomes U+FFFD) and at most `maxBytes` once UTF-8 encoded, cut at a
 * character boundary and marked. The codec refuses a whole batch for one text that is not, so one
 * such line would lose every container's rows of its class in the window with it.
 * Returns `s` itself when it fits, which is the common case and costs a length check (and a scan
 * of a two-byte string). `cut` is called when the text is cut: a text that ends with CUT_MARK as
 * written says nothing of that.
 */
export function fitText(s: string, maxBytes: number = limits.maxStringBytes, cut?: () => void): string {
  // Each UTF-16 unit is at least one UTF-8 byte: a text longer than `maxBytes` units is cut, and
  // only its first `maxBytes` units are looked at. Encoding the whole of it first copied a 15 MiB
  // OTLP log body once more (up to 45 MiB of UTF-8) just to keep its first 256 KiB.
  const long = s.length > maxBytes;
  const head = long ? s.slice(0, maxBytes) : s;
  const t = isWellFormed(head) ? head : toWellFormed(head);
  if (!long && t.length * 3 <= maxBytes) return t;
  const utf8 = Buffer.from(t, 'utf8');
  if (!long && utf8.length <= maxBytes) return t;
  // What is returned is decoded from the cut bytes: a new string, not a slice that would keep the whole text alive.
  let end = maxBytes - Buffer.byteLength(CUT_MARK);
  // Back to the first byte of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && ((utf8[end] as number) & 0xc0) === 0x80) end--;
  cut?.();
  return utf8.toString('utf8', 0, end) + CUT_MARK;
}
