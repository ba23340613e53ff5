/**
 * What decoding an OTLP body costs the process beyond the body itself, estimated from its bytes,
 * its value count and its string bytes (decoded-values.ts) before it is decoded (pure), so the
 * in-flight budget is charged with memory, not with bytes. Measured (node 20, the codec and mapping
 * of this folder, peak RSS over the inflated body, one request):
 *
 * - OTLP/JSON: the body becomes a text (`toString`) and JSON.parse copies every string out of it:
 *   the body and its strings once more. V8 keeps a string at one byte a character only while all
 *   its characters are below U+0100; one above makes all of it two bytes a character: a 15 MiB
 *   body of one ASCII string took 30 MiB, the same with one `ā` in it 60 MiB. Beside that, 24 B a
 *   value (JSON objects, arrays and members; `{}` points and an SDK-shaped export alike).
 * - protobuf: protobufjs copies every string out (bytes fields are views of the body): 15 MiB
 *   for a 15 MiB string and 31 MiB with one `ā` in it; beside that 176 B a value for empty
 *   messages (an object each, with a slot in its list), 68 B in an SDK-shaped export.
 *
 * Each is charged at its worst (two bytes a character unless the body has no byte over 0x7F and,
 * JSON, no `\u` escape: `wide`, a coarser test than "a character above U+00FF", which a protobuf
 * body rarely passes) and rounded up, so that what is charged is what the process
 * may hold: a value at OTLP_VALUE_BYTES, 32 and 192 B (in the protocol's config, whose check holds
 * maxDecodedValues to the budget they are charged against).
 */
import { OTLP_VALUE_BYTES } from '@edge-telemetry/protocol';
import type { OtlpFormat } from './codec.js';
import type { DecodedSize } from './decoded-values.js';

/** Bytes the decode of `body` may hold beyond the body: its copies (the JSON text, the strings) and its objects. */
export function decodeCost(format: OtlpFormat, body: Buffer, size: DecodedSize): number {
  const perChar = size.wide ? 2 : 1;
  const text = format === 'json' ? body.length : 0;
  return perChar * (text + size.stringBytes) + size.values * OTLP_VALUE_BYTES[format];
}
