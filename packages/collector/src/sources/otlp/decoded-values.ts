/**
 * How many values an OTLP body decodes into, how many of its bytes are strings the decoder copies
 * out, and whether those may be two bytes a character (decode-cost.ts), counted from its bytes
 * before it is decoded (pure).
 * The decoded request is what costs the heap, not the body: protobufjs makes an object of every
 * message, a Long of every 64-bit number, an array slot of every list element, and JSON.parse an
 * object or array of every `{` and `[`. A 4 MiB protobuf body of empty data points (2 bytes each)
 * decoded into 262 MiB of heap, a 4 MiB OTLP/JSON one of `{}` into 95 MiB, and a 32 KB gzip that
 * inflated to 16 MiB of them had the collector OOM-killed in its 128 MiB before anything looked at
 * it. A value costs the heap at most ~130 bytes once decoded (an empty message in a list), so a
 * bound on the count bounds the decoded request.
 */
import { isAscii } from 'node:buffer';
import protobuf from 'protobufjs';

/** Bytes of each element of a packed list of fixed-size numbers; the others are varints. */
const FIXED_SIZE: Record<string, number> = { double: 8, fixed64: 8, sfixed64: 8, float: 4, fixed32: 4, sfixed32: 4 };
/** Scalar types protobuf may pack (every scalar but strings and bytes; enums are packed as varints). */
const UNPACKABLE = new Set(['string', 'bytes']);

export interface DecodedSize {
  /** Values it decodes into; `max + 1` once over the bound (counting stops there). */
  values: number;
  /** Bytes of the strings it holds, as written (JSON: between the quotes, escapes included), up to where counting stopped. */
  stringBytes: number;
  /**
   * Whether the body may decode into a string V8 keeps two bytes a character (one with a character
   * above U+00FF). Coarser than that, never short of it: true for any byte over 0x7F in the body
   * (protobuf: anywhere in it; a Latin-1 `é`, kept at one byte, counts too) and (JSON) for any `\u`
   * escape in a string (`\u0041` too). True once over the bound.
   */
  wide: boolean;
}

/**
 * The values a protobuf message of `type` in `body` decodes into, counting stops once over `max`
 * (`values` is then `max + 1`): one per message, per list element and per other field; and the
 * bytes of its string fields (protobufjs copies each out; bytes fields are views of the body). Unknown
 * fields count nothing (the decoder discards them); a known field with another wire type than its
 * own throws, as the decoder would read it as its type says. Walks without recursion, so a body nested
 * past the stack costs a bounded walk here (each level is a message: at most `max` levels) and a
 * refusal from the decoder. Throws on bytes that do not read as protobuf: the caller refuses them
 * without decoding.
 */
export function protobufValues(type: protobuf.Type, body: Uint8Array, max: number): DecodedSize {
  const reader = protobuf.Reader.create(body);
  const stack: Array<{ type: protobuf.Type; end: number }> = [{ type, end: body.length }];
  let count = 1;
  let stringBytes = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { type: protobuf.Type; end: number };
    if (reader.pos >= top.end) {
      stack.pop();
      continue;
    }
    const tag = reader.uint32();
    const wireType = tag & 7;
    const field = top.type.fieldsById[tag >>> 3];
    if (field === undefined) {
      reader.skipType(wireType);
      continue;
    }
    // protobufjs decodes a known field as its type says, whatever the tag's wire type: a list of
    // messages tagged as a varint is read as a length and its messages decoded, uncounted here
    // (a 4 MiB body made ~2M records, ~350 MiB). A known field must come with its own wire type.
    const expected = wireTypeOf(field);
    if (wireType !== expected && !(wireType === 2 && field.repeated && !UNPACKABLE.has(field.type)))
      throw new Error(`field ${field.name} of ${top.type.name} has wire type ${wireType}, not ${expected}`);
    if (wireType !== 2) {
      count++;
      reader.skipType(wireType);
    } else if (field.resolvedType instanceof protobuf.Type) {
      count++;
      const length = reader.uint32();
      stack.push({ type: field.resolvedType, end: reader.pos + length });
    } else {
      const length = reader.uint32();
      count += field.repeated && !UNPACKABLE.has(field.type) ? packedCount(field.type, body, reader.pos, length) : 1;
      if (field.type === 'string') stringBytes += length;
      reader.skip(length);
    }
    if (count > max) return { values: max + 1, stringBytes, wide: true };
  }
  // Any byte over 0x7F (a varint's, a fixed number's), which a protobuf body rarely lacks.
  return { values: count, stringBytes, wide: !isAscii(body) };
}

/** The wire type of `field` unpacked: 2 for a message, string or bytes, its scalar's otherwise (enums: varint, 0). */
function wireTypeOf(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  return (protobuf.types.basic as Record<string, number | undefined>)[field.type] ?? 0;
}

/** Elements of a packed list of `type` in `length` bytes at `start`. */
function packedCount(type: string, body: Uint8Array, start: number, length: number): number {
  const size = FIXED_SIZE[type];
  if (size !== undefined) return Math.ceil(length / size);
  // A varint ends at each byte without its high bit.
  let n = 0;
  const end = Math.min(body.length, start + length);
  for (let i = start; i < end; i++) if ((body[i] as number) < 0x80) n++;
  return n;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const LETTER_U = 0x75;

/**
 * The values a JSON body parses into, counted as its `{`, `[` and `,` outside strings (an object or
 * array each, a member or element each after the first), stopping once over `max` (then `max + 1`);
 * the bytes between its quotes (JSON.parse copies each string out, keys included); and whether it
 * has a byte over 0x7F or a `\u` escape (`wide`), in the same pass: the body was walked twice more
 * for these.
 * Works on the bytes: every byte of a UTF-8 sequence is 0x80 or above, so none is taken for one of
 * these. Not a validation: what does not parse is JSON.parse's to refuse.
 */
export function jsonValues(body: Uint8Array, max: number): DecodedSize {
  let count = 1;
  let inString = false;
  let stringBytes = 0;
  let opened = 0;
  let wide = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i] as number;
    if (b > 0x7f) wide = true;
    else if (inString) {
      if (b === BACKSLASH) {
        // A JSON escape of a character above U+00FF makes its string two bytes a character, as one written out does.
        const escaped = body[++i] ?? 0;
        if (escaped === LETTER_U || escaped > 0x7f) wide = true;
      } else if (b === QUOTE) {
        inString = false;
        stringBytes += i - opened - 1;
      }
    } else if (b === QUOTE) {
      inString = true;
      opened = i;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET || b === COMMA) {
      if (++count > max) return { values: max + 1, stringBytes, wide: true };
    }
  }
  // A string still open at the end (the body does not parse): its bytes count all the same.
  if (inString) stringBytes += body.length - opened - 1;
  return { values: count, stringBytes, wide };
}
