/**
 * Seeded mutations of the kinds a broken or hostile sender produces, for bytes (binary frames and
 * their decompressed bodies) and for JSON documents (commands, API bodies). Pure: the same rng
 * state gives the same output, so a failing case is reproduced from its seed and index.
 */
import { intIn, pick, type Rng } from '../../packages/protocol/src/testing/index.js';

export interface Mutant {
  kind: string;
  bytes: Buffer;
}

const randomBytes = (rng: Rng, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => intIn(rng, 0, 255)));

/** Byte-level damage: flips, truncation, counts and lengths forced huge or zero, splices, garbage. */
export function mutateBytes(rng: Rng, src: Buffer): Mutant {
  const b = Buffer.from(src);
  const at = (): number => intIn(rng, 0, Math.max(0, b.length - 1));
  switch (intIn(rng, 0, 7)) {
    case 0:
      for (let i = intIn(rng, 1, 8); i > 0; i--) {
        const p = at();
        b[p] = (b[p] as number) ^ (1 << intIn(rng, 0, 7));
      }
      return { kind: 'bit-flip', bytes: b };
    case 1:
      return { kind: 'truncated', bytes: b.subarray(0, intIn(rng, 0, Math.max(0, b.length - 1))) };
    case 2: {
      // A varint-sized run of 0xff reads as a huge count or length; 0x00 as zero.
      const p = at();
      const fill = rng() < 0.7 ? 0xff : 0x00;
      for (let i = 0; i < intIn(rng, 1, 10) && p + i < b.length; i++) b[p + i] = fill;
      return { kind: fill === 0xff ? 'huge-count' : 'zero-length', bytes: b };
    }
    case 3: {
      const p = intIn(rng, 0, b.length);
      return {
        kind: 'inserted',
        bytes: Buffer.concat([b.subarray(0, p), randomBytes(rng, intIn(rng, 1, 32)), b.subarray(p)]),
      };
    }
    case 4: {
      const from = at();
      return {
        kind: 'deleted',
        bytes: Buffer.concat([b.subarray(0, from), b.subarray(Math.min(b.length, from + intIn(rng, 1, 64)))]),
      };
    }
    case 5:
      return { kind: 'appended', bytes: Buffer.concat([b, rng() < 0.5 ? b : randomBytes(rng, intIn(rng, 1, 256))]) };
    case 6:
      return { kind: 'garbage', bytes: randomBytes(rng, intIn(rng, 0, 512)) };
    default:
      b[at()] = intIn(rng, 0, 255);
      return { kind: 'byte-replaced', bytes: b };
  }
}

export interface JsonMutant {
  kind: string;
  /** Raw request bytes: not always JSON, not always UTF-8. */
  body: Buffer;
}

const WRONG_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 53 + 1,
  0.5,
  '',
  '0',
  [],
  {},
  [1, 2],
  { a: 1 },
  'x'.repeat(300),
  '\u0000',
  '\ud800',
];

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child, p, out);
    }
  }
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: Record<string | number, unknown> = Array.isArray(root)
    ? ([...(root as unknown[])] as unknown as Record<number, unknown>)
    : { ...(root as Record<string, unknown>) };
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  copy[head] = setAt(copy[head], rest, value);
  return copy;
}

function deleteAt(root: unknown, path: (string | number)[]): unknown {
  if (path.length === 1) {
    const copy = { ...(root as Record<string, unknown>) };
    delete copy[path[0] as string];
    return copy;
  }
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  return setAt(root, [head], deleteAt((root as Record<string | number, unknown>)[head], rest));
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Damage to a JSON document: structure, types, sizes, encodings. */
export function mutateJson(rng: Rng, valid: unknown): JsonMutant {
  const text = JSON.stringify(valid);
  const fields = paths(valid);
  switch (intIn(rng, 0, 12)) {
    case 0: {
      const depth = pick(rng, [100, 1_000, 10_000, 100_000]);
      const open = pick(rng, ['[', '{"a":']);
      const close = open === '[' ? ']' : '}';
      return { kind: 'deep-nesting', body: utf8(open.repeat(depth) + '1' + close.repeat(rng() < 0.8 ? depth : 0)) };
    }
    case 1: {
      const size = pick(rng, [1024, 65_536, 1_500_000]);
      const p = fields.length > 0 ? pick(rng, fields) : ['x'];
      return { kind: 'huge-string', body: utf8(JSON.stringify(setAt(valid, p, 'A'.repeat(size)))) };
    }
    case 2: {
      const p = fields.length > 0 ? pick(rng, fields) : ['x'];
      return { kind: 'wrong-type', body: utf8(JSON.stringify(setAt(valid, p, pick(rng, WRONG_VALUES)))) };
    }
    case 3: {
      const top = fields.filter((f) => f.length === 1);
      if (top.length === 0) return { kind: 'empty-object', body: utf8('{}') };
      return { kind: 'missing-field', body: utf8(JSON.stringify(deleteAt(valid, pick(rng, top)))) };
    }
    case 4:
      return {
        kind: 'extra-field',
        body: utf8(
          JSON.stringify({
            ...(valid as object),
            [pick(rng, ['__proto__', 'constructor', 'role', 'admin', 'x'.repeat(intIn(rng, 1, 2000))])]: {
              role: 'admin',
              polluted: true,
            },
          }),
        ),
      };
    case 5: {
      // Invalid UTF-8 inside a string value: lone continuation bytes, overlongs, surrogates.
      const bad = pick(rng, [
        [0xff],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xe2, 0x82],
      ]);
      const q = text.indexOf('"', 1 + intIn(rng, 0, Math.max(0, text.length - 2)));
      const p = q < 0 ? 1 : q + 1;
      const raw = utf8(text);
      return { kind: 'invalid-utf8', body: Buffer.concat([raw.subarray(0, p), Buffer.from(bad), raw.subarray(p)]) };
    }
    case 6:
      return { kind: 'truncated', body: utf8(text).subarray(0, intIn(rng, 0, Math.max(0, text.length - 1))) };
    case 7:
      return { kind: 'bytes', body: mutateBytes(rng, utf8(text)).bytes };
    case 8:
      return {
        kind: 'not-an-object',
        body: utf8(JSON.stringify(pick(rng, [null, 42, 'text', [valid], true, [] as unknown[]]))),
      };
    case 9: {
      const p = fields.length > 0 ? pick(rng, fields) : ['x'];
      return {
        kind: 'huge-number',
        body: utf8(
          JSON.stringify(setAt(valid, p, 0)).replace(
            /:0([,}])/,
            `:${pick(rng, ['1e999', '-1e999', '9'.repeat(400), '0.' + '0'.repeat(400) + '1'])}$1`,
          ),
        ),
      };
    }
    case 10:
      return {
        kind: 'many-keys',
        body: utf8(
          JSON.stringify(Object.fromEntries(Array.from({ length: intIn(rng, 500, 5_000) }, (_, i) => [`k${i}`, i]))),
        ),
      };
    case 11:
      return {
        kind: 'wrong-version',
        body: utf8(JSON.stringify({ ...(valid as object), v: pick(rng, [0, 2, 99, -1, '1', null, 1.5]) })),
      };
    default:
      return {
        kind: 'duplicate-keys',
        body: utf8(text.replace(/^\{/, `{"${fields[0]?.[0] ?? 'x'}":${JSON.stringify(pick(rng, WRONG_VALUES))},`)),
      };
  }
}
