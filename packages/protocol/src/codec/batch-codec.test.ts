import { existsSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Compressor } from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import { describe, expect, it } from 'vitest';
import { createBatchCodec } from './batch-codec.js';
import { writeBatchBody } from './batch-body-writer.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { writeFrameHeader, MessageKind, FrameFlags } from '../wire/frame.js';
import { BATCH_FRAME_VERSION, limits } from '../limits.js';
import type { Batch } from '../types/batch.js';
import type { ProtocolErrorCode, Result } from '../errors/errors.js';
import { idleHealth, randomBatch, sampleBatch, seededRng } from '../testing/index.js';
import { validateBatch } from '../validate/batch.js';

// ../shared/corpora beside the repository (CI lays it there too).
const corpora = new URL('../../../../../shared/corpora', import.meta.url).pathname;
// Skipped only in a user's clone without ../shared/corpora; CI always has it.
const haveCorpora = existsSync(corpora);
if (!haveCorpora && process.env.CI) throw new Error(`corpora missing at ${corpora} (required in CI)`);
const codec = createBatchCodec();

function base(): Batch {
  return {
    node: 'gw-1',
    epoch: 1,
    seq: 2,
    sentAt: 1_764_300_060_000,
    windowStart: 1_764_300_000_000,
    windowEnd: 1_764_300_060_000,
    containers: [{ id: 'c1', name: 'api', image: 'nginx', state: 'running', labels: { a: 'b' } }],
    metrics: [
      {
        container: 'api',
        metric: 'cpu.usage_pct',
        start: 1_764_300_000_000,
        end: 1_764_300_060_000,
        count: 6,
        sum: 12.5,
        min: 1,
        max: 3.25,
        last: 2,
        gaps: 0,
        resets: 0,
      },
    ],
    logs: [
      {
        ts: 1_764_300_001_000,
        container: 'api',
        level: 2,
        message: 'hello',
        stream: 'stdout',
        repeat: 1,
        templateId: '',
        fields: {},
      },
    ],
    templates: [
      {
        container: 'api',
        id: 't',
        template: 'hello <*>',
        level: 2,
        count: 3,
        firstSeen: 1_764_300_000_500,
        lastSeen: 1_764_300_001_500,
        samples: [{ ts: 1_764_300_001_000, params: ['x'] }],
      },
    ],
    events: [{ ts: 1_764_300_002_000, container: 'api', kind: 'start', attrs: {} }],
    drops: [{ stage: 'logs.level', reason: 'below_level', container: '', count: 5 }],
    health: {
      uplinkBytes: 1,
      rawBytes: 2,
      queueBatches: 0,
      queueBytes: 0,
      budgetLeftBytes: -1,
      degradeLevel: 0,
      cpuPct: 0.5,
      rssBytes: 3,
      agentVersion: '0.1.0',
    },
  };
}

/**
 * A frame around a hand-made body, to reach the body decoder with exactly the bytes a test needs.
 * craft() writes the version 1 layout (with all sections empty it reads the same in v1 and v2);
 * bodies from writeBatchBody are the current version's.
 */
function frame(body: Uint8Array, flags = 0, version = BATCH_FRAME_VERSION): Buffer {
  const c = new Compressor();
  return Buffer.concat([writeFrameHeader(MessageKind.batch, flags, version), c.compress(body)]);
}

/**
 * An empty section as writeBatchBody writes it: its row count 0, then the common factor (1) that
 * each of its scaled columns starts with (metrics: start and end, then the attrs flag 0; logs: ts;
 * templates: firstSeen, lastSeen and the samples' times; events: ts; spans: the count alone).
 */
const EMPTY_SECTIONS = {
  containers: [0],
  metrics: [0, 1, 1, 0],
  logs: [0, 1],
  templates: [0, 1, 1, 1],
  events: [0, 1],
  drops: [0],
  spans: [0],
};
const writeEmpty = (w: ByteWriter, ...sections: (keyof typeof EMPTY_SECTIONS)[]): void => {
  for (const s of sections) for (const v of EMPTY_SECTIONS[s]) w.uint(v);
};

/** A body with the given header strings and string table; sections empty unless `sections` writes them. */
function craft(
  o: {
    node?: string | Uint8Array;
    strings?: (string | Uint8Array)[];
    sections?: (w: ByteWriter) => void;
    trailing?: number[];
  } = {},
): Buffer {
  const w = new ByteWriter();
  const rawStr = (s: string | Uint8Array): void => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    w.uint(b.length);
    w.bytes(b);
  };
  rawStr(o.node ?? 'gw-1');
  for (const v of [1, 2, 1_764_300_060_000, 1_764_300_000_000, 60_000]) w.uint(v);
  const strings = o.strings ?? ['0.1.0'];
  w.uint(strings.length);
  strings.forEach(rawStr);
  if (o.sections) o.sections(w);
  else writeEmpty(w, 'containers', 'metrics', 'logs', 'templates', 'events', 'drops', 'spans');
  for (const v of [0, 0, 0, 0, 0, 0]) w.uint(v);
  w.num(0);
  w.uint(0);
  w.uint(0);
  for (const b of o.trailing ?? []) w.byte(b);
  return w.finish();
}

function expectCode(r: Result<unknown>, code: ProtocolErrorCode, detail?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (detail) expect(r.error.detail).toMatch(detail);
}

describe('batch codec round trip', () => {
  it('decodes what it encodes, field for field', () => {
    const b = base();
    const r = codec.decode(codec.encode(b), 'gw-1');
    expect(r).toEqual({ ok: true, value: b });
  });

  it('reads a map key __proto__ as a key like any other, never as the prototype', () => {
    const b = base();
    const labels = JSON.parse('{"__proto__":"not a prototype","constructor":"c","k":"v"}') as Record<string, string>;
    b.containers = [{ ...b.containers[0]!, labels }];
    const r = codec.decode(codec.encode(b), 'gw-1');
    if (!r.ok) throw r.error;
    const got = r.value.containers[0]!.labels;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.entries(got)).toEqual(Object.entries(labels));
  });

  it('round-trips 300 random batches (seeded), including -0, float extremes and unicode', () => {
    for (let seed = 0; seed < 300; seed++) {
      const b = randomBatch(seededRng(seed));
      const r = codec.decode(codec.encode(b));
      if (!r.ok) throw new Error(`seed ${seed}: ${r.error.message}`);
      // node's strict deep equality tells -0 from 0 and is far cheaper than vitest's on big sketches.
      if (!isDeepStrictEqual(r.value, b)) expect(r.value, `seed ${seed}`).toEqual(b);
    }
  });

  it('round-trips sections of minimal rows (the per-row byte floor used against bogus counts is exact)', () => {
    const empty = (): Batch => ({
      ...base(),
      windowStart: 0,
      windowEnd: 0,
      containers: [],
      metrics: [],
      logs: [],
      templates: [],
      events: [],
      drops: [],
      health: idleHealth(''),
    });
    const n = 500;
    const fills: ((b: Batch) => void)[] = [
      (b) => (b.containers = Array.from({ length: n }, () => ({ id: '', name: '', image: '', state: '', labels: {} }))),
      (b) =>
        (b.metrics = Array.from({ length: n }, () => ({
          container: '',
          metric: '',
          start: 0,
          end: 0,
          count: 0,
          sum: 0,
          min: 0,
          max: 0,
          last: 0,
          gaps: 0,
          resets: 0,
        }))),
      (b) =>
        (b.logs = Array.from({ length: n }, () => ({
          ts: 0,
          container: '',
          level: 0,
          message: '',
          stream: 'stdout',
          repeat: 1,
          templateId: '',
          fields: {},
        }))),
      (b) =>
        (b.templates = Array.from({ length: n }, () => ({
          container: '',
          id: '',
          template: '',
          level: 0,
          count: 0,
          firstSeen: 0,
          lastSeen: 0,
          samples: [],
        }))),
      (b) => (b.events = Array.from({ length: n }, () => ({ ts: 0, container: '', kind: 'start', attrs: {} }))),
      (b) => (b.drops = Array.from({ length: n }, () => ({ stage: '', reason: '', container: '', count: 0 }))),
    ];
    // One section at a time, so the bytes of the other sections cannot hide a too-high floor.
    for (const fill of fills) {
      const b = empty();
      fill(b);
      expect(codec.decode(codec.encode(b))).toEqual({ ok: true, value: b });
    }
  });

  it.runIf(haveCorpora)(
    'is smaller than JSON+zstd of the same realistic batch (30 containers x 12 metrics, 100 logs, 50 templates)',
    () => {
      const lines = readFileSync(`${corpora}/loghub2k/OpenSSH/OpenSSH_2k.log`, 'utf8').split(/\r?\n/).filter(Boolean);
      const values = readFileSync(`${corpora}/nab/data/realKnownCause/machine_temperature_system_failure.csv`, 'utf8')
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => Number(l.split(',')[1]));
      const b = sampleBatch(seededRng(7), { lines, values });
      const ours = codec.encode(b).length;
      const c = new Compressor();
      c.setParameters({ compressionLevel: 3 });
      const jsonZstd = c.compress(Buffer.from(JSON.stringify(b))).length;
      expect(ours).toBeLessThan(jsonZstd * 0.85);
    },
  );

  it('uses a dictionary when configured, flags it, and still reads frames made without', () => {
    const dict = Buffer.from(JSON.stringify(base()).repeat(20));
    const withDict = createBatchCodec({ dictionary: dict });
    const bytes = withDict.encode(base());
    expect((bytes[4] as number) & FrameFlags.dictionary).toBe(FrameFlags.dictionary);
    expect(withDict.decode(bytes)).toEqual({ ok: true, value: base() });
    expect(withDict.decode(codec.encode(base()))).toEqual({ ok: true, value: base() });
    expectCode(codec.decode(bytes), 'ET_ERR_CORRUPT_COMPRESSION', /dictionary/);
  });

  it('refuses to encode a batch the receiver would reject', () => {
    expect(() => codec.encode({ ...base(), node: 'bad/node' })).toThrow(/ET_ERR_INVALID_FIELD.*node/);
    expect(() => createBatchCodec({ level: 99 })).toThrow(/level/);
    const rng = seededRng(2);
    const huge = base();
    huge.logs = Array.from({ length: 2000 }, (_, i) => ({
      ...base().logs[0]!,
      message: Array.from({ length: 800 }, () => String.fromCharCode(33 + Math.floor(rng() * 90))).join('') + i,
    }));
    expect(() => codec.encode(huge)).toThrow(/ET_ERR_TOO_LARGE/);
  });
});

describe('batch decode rejects hostile input', () => {
  const good = codec.encode(base());

  it('oversized before decompression', () => {
    expectCode(codec.decode(Buffer.alloc(limits.maxBatchWireBytes + 1)), 'ET_ERR_TOO_LARGE');
  });
  it('truncated header and truncated zstd frame', () => {
    expectCode(codec.decode(good.subarray(0, 3)), 'ET_ERR_TRUNCATED', /frame/);
    expectCode(codec.decode(good.subarray(0, good.length - 4)), 'ET_ERR_CORRUPT_COMPRESSION');
  });
  it('wrong magic, unsupported version, wrong kind, unknown flags', () => {
    const m = Buffer.from(good);
    m[0] = 0x7b;
    expectCode(codec.decode(m), 'ET_ERR_BAD_MAGIC');
    const v = Buffer.from(good);
    v[2] = 9;
    expectCode(codec.decode(v), 'ET_ERR_UNSUPPORTED_VERSION', /version/);
    const k = Buffer.from(good);
    k[3] = MessageKind.pullChunk;
    expectCode(codec.decode(k), 'ET_ERR_INVALID_FIELD', /kind/);
    const f = Buffer.from(good);
    f[4] = 0x80;
    expectCode(codec.decode(f), 'ET_ERR_UNSUPPORTED_VERSION', /flags/);
  });
  it('corrupt zstd and trailing data after the frame', () => {
    const z = Buffer.from(good);
    for (let i = 9; i < z.length; i++) z[i] = (z[i] as number) ^ 0x5a;
    expectCode(codec.decode(z), 'ET_ERR_CORRUPT_COMPRESSION');
    expectCode(
      codec.decode(Buffer.concat([good, Buffer.from([1, 2, 3])])),
      'ET_ERR_CORRUPT_COMPRESSION',
      /after the zstd frame/,
    );
    expectCode(
      codec.decode(Buffer.concat([writeFrameHeader(MessageKind.batch, 0), Buffer.from('not zstd')])),
      'ET_ERR_CORRUPT_COMPRESSION',
    );
  });

  it('decompression bomb with an honest header', () => {
    const bomb = frame(Buffer.alloc(limits.maxBatchDecodedBytes + 1));
    expect(bomb.length).toBeLessThan(limits.maxBatchWireBytes);
    expectCode(codec.decode(bomb), 'ET_ERR_DECOMPRESSED_TOO_LARGE', /declares/);
  });

  it('decompression bomb without a content size in the header', () => {
    const cctx = new binding.CCtx();
    cctx.setParameter(binding.CParameter.contentSizeFlag, 0);
    const out = Buffer.alloc(1024 * 1024);
    const [, produced] = cctx.compressStream2(out, Buffer.alloc(64 * 1024 * 1024), binding.EndDirective.end);
    const bytes = Buffer.concat([writeFrameHeader(MessageKind.batch, 0), out.subarray(0, produced)]);
    expect(binding.getFrameContentSize(bytes.subarray(5))).toBeNull();
    expectCode(codec.decode(bytes), 'ET_ERR_DECOMPRESSED_TOO_LARGE', /without content size/);
  });

  it('a refusal says how many bytes were decompressed before it: the body once read, 0 before decompressing', () => {
    const read = codec.decodeFrame(good);
    if (!read.ok) throw read.error;
    const forged = codec.decodeFrame(good, 'another-node');
    expect(forged).toMatchObject({ ok: false, decodedBytes: read.value.body.length });
    expect(codec.decodeFrame(good.subarray(0, 3))).toMatchObject({ ok: false, decodedBytes: 0 });
    const declared = codec.decodeFrame(frame(Buffer.alloc(limits.maxBatchDecodedBytes + 1)));
    expect(declared).toMatchObject({ ok: false, decodedBytes: 0 });
    const cctx = new binding.CCtx();
    cctx.setParameter(binding.CParameter.contentSizeFlag, 0);
    const out = Buffer.alloc(1024 * 1024);
    const [, produced] = cctx.compressStream2(out, Buffer.alloc(32 * 1024 * 1024), binding.EndDirective.end);
    const streamed = codec.decodeFrame(
      Buffer.concat([writeFrameHeader(MessageKind.batch, 0), out.subarray(0, produced)]),
    );
    expect(streamed.ok).toBe(false);
    expect(!streamed.ok && streamed.decodedBytes).toBeGreaterThan(limits.maxBatchDecodedBytes);
  });

  it('a header that lies about the content size', () => {
    const z = new Compressor().compress(Buffer.alloc(100_000, 1));
    // Single-segment frame: the 1-byte descriptor is followed by a 4-byte content size (100000).
    const fcs = z.readUInt32LE(5);
    expect(fcs).toBe(100_000);
    z.writeUInt32LE(1000, 5);
    expectCode(codec.decode(Buffer.concat([writeFrameHeader(MessageKind.batch, 0), z])), 'ET_ERR_CORRUPT_COMPRESSION');
  });

  it('bogus counts are refused before anything is allocated from them', () => {
    expectCode(
      codec.decode(frame(craft({ sections: (w) => w.uint(Number.MAX_SAFE_INTEGER) }))),
      'ET_ERR_INVALID_FIELD',
      /containers.*above the limit/,
    );
    expectCode(
      codec.decode(frame(craft({ sections: (w) => w.uint(limits.maxItemsPerSection) }))),
      'ET_ERR_TRUNCATED',
      /containers.*remaining/,
    );
    const manyStrings = new ByteWriter();
    manyStrings.str('gw-1');
    for (const v of [1, 2, 3, 4, 5]) manyStrings.uint(v);
    manyStrings.uint(2 ** 40);
    expectCode(codec.decode(frame(manyStrings.finish())), 'ET_ERR_TRUNCATED', /strings/);
    const longString = new ByteWriter();
    longString.str('gw-1');
    for (const v of [1, 2, 3, 4, 5, 1]) longString.uint(v);
    longString.uint(limits.maxStringBytes);
    longString.bytes(Buffer.from('short'));
    expectCode(
      codec.decode(frame(longString.finish())),
      'ET_ERR_TRUNCATED',
      /strings\[0\]: string of 65536 bytes, 5 left/,
    );
    const tooLong = new ByteWriter();
    tooLong.str('gw-1');
    for (const v of [1, 2, 3, 4, 5, 1]) tooLong.uint(v);
    tooLong.uint(limits.maxStringBytes + 1);
    expectCode(
      codec.decode(frame(tooLong.finish())),
      'ET_ERR_INVALID_FIELD',
      /strings\[0\]: string of 65537 bytes above the limit/,
    );
  });

  it('a varint longer than 8 bytes', () => {
    const w = new ByteWriter();
    w.str('gw-1');
    for (let i = 0; i < 10; i++) w.byte(0xff);
    expectCode(codec.decode(frame(w.finish())), 'ET_ERR_INVALID_FIELD', /epoch: varint/);
  });

  it('invalid UTF-8', () => {
    expectCode(
      codec.decode(frame(craft({ node: Buffer.from([0x67, 0xc3, 0x28]) }))),
      'ET_ERR_INVALID_FIELD',
      /node: invalid UTF-8/,
    );
    expectCode(
      codec.decode(frame(craft({ strings: [Buffer.from([0xed, 0xa0, 0x80])] }))),
      'ET_ERR_INVALID_FIELD',
      /strings\[0\]: invalid UTF-8/,
    );
  });

  it('string references outside the table, unknown enum codes, trailing bytes', () => {
    const oneContainer = (w: ByteWriter): void => {
      w.uint(1);
      for (const ref of [0, 0, 0, 9]) w.uint(ref);
    };
    expectCode(
      codec.decode(frame(craft({ sections: oneContainer }))),
      'ET_ERR_INVALID_FIELD',
      /containers\[0\]\.state: string ref 9/,
    );
    const badStream = (w: ByteWriter): void => {
      writeEmpty(w, 'containers', 'metrics');
      w.uint(1); // one log row
      w.uint(1); // ts: factor, then the delta
      w.sint(0);
      w.uint(0); // container ref
      w.byte(2); // level
      w.byte(7); // stream
    };
    expectCode(
      codec.decode(frame(craft({ sections: badStream }))),
      'ET_ERR_INVALID_FIELD',
      /logs\[0\]\.stream: stream code 7/,
    );
    const badKind = (w: ByteWriter): void => {
      writeEmpty(w, 'containers', 'metrics', 'logs', 'templates');
      w.uint(1); // one event row
      w.uint(1); // ts: factor, then the delta
      w.sint(0);
      w.uint(0); // container ref
      w.byte(42); // kind
    };
    expectCode(
      codec.decode(frame(craft({ sections: badKind }))),
      'ET_ERR_INVALID_FIELD',
      /events\[0\]\.kind: unknown event kind 42/,
    );
    const oneSpan = (kind: number, exemplars: number) => (w: ByteWriter) => {
      writeEmpty(w, 'containers', 'metrics', 'logs', 'templates', 'events', 'drops');
      w.uint(1); // one span row
      for (const ref of [0, 0, 0]) w.uint(ref); // container, service, operation
      w.byte(kind);
      w.byte(0); // status
      for (const v of [1, 0, 1, 0]) w.uint(v); // start and end: factor, then the value
      w.uint(1); // count
      for (let i = 0; i < 3; i++) w.byte(0); // sum, min, max: integer 0
      w.byte(0); // no sketch
      w.uint(0); // no errors
      w.uint(exemplars);
    };
    expectCode(
      codec.decode(frame(craft({ sections: oneSpan(6, 0) }))),
      'ET_ERR_INVALID_FIELD',
      /spans\[0\]\.kind: code 6 above 5/,
    );
    expectCode(
      codec.decode(frame(craft({ sections: oneSpan(2, limits.maxSpanExemplars + 1) }))),
      'ET_ERR_INVALID_FIELD',
      /spans\[0\]\.traceIds: count 9 above the limit 8/,
    );
    const metricsAttrsFlag = (w: ByteWriter) => {
      writeEmpty(w, 'containers');
      for (const v of [0, 1, 1, 2]) w.uint(v);
    };
    expectCode(
      codec.decode(frame(craft({ sections: metricsAttrsFlag }))),
      'ET_ERR_INVALID_FIELD',
      /metrics\.attrs: attrs flag 2/,
    );
    expectCode(codec.decode(frame(craft({ trailing: [0] }))), 'ET_ERR_INVALID_FIELD', /trailing/);
    expect(codec.decode(frame(craft())).ok).toBe(true);
  });

  it('non-finite numbers', () => {
    const metricWithNaN = (w: ByteWriter): void => {
      writeEmpty(w, 'containers');
      w.uint(1); // one metric row
      w.uint(0); // container ref
      w.uint(0); // metric ref
      w.uint(1); // start: factor, then the delta
      w.sint(0);
      w.uint(1); // end-start: factor, then the value over it
      w.sint(0);
      w.uint(1); // count
      w.byte(1); // sum: tag float64
      w.f64(Number.NaN);
    };
    // (a float column holds the tag, then the float64 as 8 byte planes of one value each: the same bytes)
    expectCode(
      codec.decode(frame(craft({ sections: metricWithNaN }))),
      'ET_ERR_INVALID_FIELD',
      /metrics\[0\]\.sum: not a finite number/,
    );
  });

  it('semantic checks with the field path: node pattern, level, ranges, maps, samples, sketches', () => {
    const cases: [Partial<Batch> | ((b: Batch) => void), RegExp][] = [
      [{ node: 'has space' }, /^node/],
      [(b) => ((b.logs[0] as { level: number }).level = 9), /logs\[0\]\.level/],
      [(b) => ((b.logs[0] as { repeat: number }).repeat = 0), /logs\[0\]\.repeat/],
      [
        (b) =>
          ((b.logs[0] as { fields: Record<string, string> }).fields = Object.fromEntries(
            Array.from({ length: limits.maxMapEntries + 1 }, (_, i) => [`k${i}`, 'v']),
          )),
        /logs\[0\]\.fields/,
      ],
      [
        (b) =>
          ((b.templates[0] as { samples: unknown[] }).samples = Array.from(
            { length: limits.maxTemplateSamples + 1 },
            () => ({ ts: 1, params: [] }),
          )),
        /templates\[0\]\.samples/,
      ],
      [
        (b) =>
          ((b.metrics[0] as { sketch: unknown }).sketch = {
            zeros: 0,
            positive: { offset: 0, counts: new Array(limits.maxSketchBins + 1).fill(1) },
            negative: { offset: 0, counts: [] },
          }),
        /metrics\[0\]\.sketch/,
      ],
      [(b) => ((b.logs[0] as { ts: number }).ts = limits.maxTimestampMs + 1), /logs\[0\]\.ts/],
      [
        (b) => ((b.logs[0] as { message: string }).message = 'x'.repeat(limits.maxStringBytes + 1)),
        /logs\[0\]\.message/,
      ],
    ];
    for (const [change, path] of cases) {
      const b = base();
      if (typeof change === 'function') change(b);
      else Object.assign(b, change);
      // Decoder side: the body encoder writes whatever it is given; validation is what refuses it.
      const r = codec.decode(frame(writeBatchBody(b), 0, BATCH_FRAME_VERSION));
      if (r.ok) throw new Error(`accepted ${String(path)}`);
      expect(r.error.code, r.error.detail).toBe('ET_ERR_INVALID_FIELD');
      expect(r.error.detail).toMatch(path);
      expect(validateBatch(b).ok).toBe(false);
    }
  });

  it('validateBatch refuses what the wire cannot even express', () => {
    const span = {
      container: '',
      service: 's',
      operation: 'op',
      kind: 2,
      status: 0,
      start: 0,
      end: 1,
      count: 1,
      sum: 1,
      min: 1,
      max: 1,
      errors: [],
      traceIds: ['not-hex'],
    };
    const rsp = validateBatch({ ...base(), spans: [span] });
    expect(!rsp.ok && rsp.error.detail).toMatch(/^spans\[0\]\.traceIds\[0\]/);
    expect(() => codec.encode({ ...base(), spans: [span] } as Batch)).toThrow(/traceIds/);
    const r = validateBatch({ ...base(), windowEnd: 1 });
    expect(!r.ok && r.error.detail).toMatch(/^windowEnd: before windowStart/);
    const m = base();
    (m.metrics[0] as { end: number }).end = 0;
    expect(validateBatch(m).ok).toBe(false);
    const c = base();
    (c.metrics[0] as { count: number }).count = -1;
    const rc = validateBatch(c);
    expect(!rc.ok && rc.error.detail).toMatch(/^metrics\[0\]\.count/);
    const h = base();
    (h.health as { budgetLeftBytes: number }).budgetLeftBytes = -2;
    const rh = validateBatch(h);
    expect(!rh.ok && rh.error.detail).toMatch(/^health\.budgetLeftBytes/);
    const s = base();
    (s.logs[0] as { message: string }).message = 'lone \ud800';
    const rs = validateBatch(s);
    expect(!rs.ok && rs.error.detail).toMatch(/^logs\[0\]\.message.*surrogate/);
  });

  it('names a failing item deep in a list by its whole path (paths are built for the failing item alone)', () => {
    const lone = 'x\udc00';
    const cases: [(b: Batch) => void, string][] = [
      [
        (b) => b.logs.push({ ...b.logs[0]!, fields: { ok: 'v' } }, { ...b.logs[0]!, fields: { k: 'v', [lone]: 'v' } }),
        'logs[2].fields.<key>: string is not well-formed UTF-16 (lone surrogate)',
      ],
      [
        (b) => b.logs.push({ ...b.logs[0]!, fields: { k: lone } }),
        'logs[1].fields.k: string is not well-formed UTF-16 (lone surrogate)',
      ],
      [
        (b) =>
          b.templates.push({
            ...b.templates[0]!,
            samples: [
              { ts: 1, params: ['a'] },
              { ts: 2, params: ['a', 'b', lone] },
            ],
          }),
        'templates[1].samples[1].params[2]: string is not well-formed UTF-16 (lone surrogate)',
      ],
      [
        (b) => b.templates.push({ ...b.templates[0]!, samples: [{ ts: -1, params: [] }] }),
        `templates[1].samples[0].ts: expected an integer in [0, ${limits.maxTimestampMs}], got -1`,
      ],
      [(b) => (b.templates[0]!.merged = ['m', 7 as unknown as string]), 'templates[0].merged[1]: expected a string'],
      [
        (b) => b.drops.push({ stage: 's', reason: 'r', container: '', count: 0.5 }),
        'drops[1].count: expected a non-negative integer, got 0.5',
      ],
    ];
    for (const [change, detail] of cases) {
      const b = base();
      change(b);
      const r = validateBatch(b);
      expect(!r.ok && r.error.detail).toBe(detail);
    }
  });

  it('node id must equal the topic node', () => {
    expectCode(codec.decode(good, 'gw-2'), 'ET_ERR_NODE_MISMATCH', /gw-1.*gw-2/);
    expect(codec.decode(good, 'gw-1').ok).toBe(true);
  });
});

describe('sketch bins on the wire', () => {
  it('a sparse run (few values over a wide range) and a dense run read back identical', () => {
    const b = base();
    const wide = Array.from({ length: 170 }, (_, i) => (i === 0 || i === 120 || i === 169 ? 2 : 0));
    (b.metrics[0] as Batch['metrics'][number]).sketch = {
      zeros: 1,
      positive: { offset: 325, counts: wide },
      negative: { offset: -4, counts: [1, 2, 3] },
    };
    const r = codec.decode(codec.encode(b));
    if (!r.ok) throw r.error;
    expect(r.value.metrics[0]?.sketch).toEqual(b.metrics[0]?.sketch);
    // Sent dense, the 170-bin run would take a byte per bin before compression; sparse, a few pairs.
    expect(writeBatchBody(b).length - writeBatchBody(base()).length).toBeLessThan(30);
  });
});

describe('frames compressed against earlier batches', () => {
  const epoch = 3;
  // Same sources every window, as a node's logs and series are: what earlier batches hold recurs.
  const sources = {
    lines: Array.from(
      { length: 60 },
      (_, i) => `session ${i % 9} opened for user u${i % 5} from 10.0.${i % 4}.${i} port ${4000 + i}`,
    ),
    values: Array.from({ length: 500 }, (_, i) => 40 + 10 * Math.sin(i / 7)),
  };
  const batchAt = (seq: number): Batch => ({ ...sampleBatch(seededRng(seq), sources), node: 'gw-1', epoch, seq });
  const earlier = [1, 2].map((seq) => {
    const r = codec.reencode(codec.encode(batchAt(seq)), { epoch, seq, references: [], keyframe: true });
    if (!r.ok) throw r.error;
    return { seq, frame: r.value.frame, body: r.value.body };
  });

  it('round-trips with the references, is smaller than standalone, and says what it needs before decompressing', () => {
    const plain = codec.encode(batchAt(5));
    const r = codec.reencode(plain, { epoch, seq: 5, references: earlier, keyframe: false });
    if (!r.ok) throw r.error;
    expect(r.value.frame.length).toBeLessThan(plain.length);
    const head = codec.head(r.value.frame);
    if (!head.ok) throw head.error;
    expect(head.value.batch).toEqual({ epoch, seq: 5 });
    expect(head.value.references).toEqual([1, 2]);
    expect(head.value.keyframe).toBe(false);
    const d = codec.decodeFrame(
      r.value.frame,
      'gw-1',
      earlier.map((e) => e.body),
    );
    if (!d.ok) throw d.error;
    expect(d.value.batch).toEqual(codec.decode(plain).ok && (codec.decode(plain) as { value: Batch }).value);
    expect(d.value.body.equals(r.value.body)).toBe(true);
  });

  it('keyframes are marked, with or without references', () => {
    const k = codec.head(earlier[0]!.frame);
    expect(k.ok && k.value.keyframe && k.value.references.length === 0).toBe(true);
    const r = codec.reencode(codec.encode(batchAt(6)), { epoch, seq: 6, references: earlier, keyframe: true });
    const h = r.ok && codec.head(r.value.frame);
    expect(h && h.ok && h.value.keyframe && h.value.references.length === 2).toBe(true);
  });

  it('refuses a missing or different reference with ET_ERR_UNKNOWN_REFERENCE, never a wrong batch', () => {
    const r = codec.reencode(codec.encode(batchAt(7)), { epoch, seq: 7, references: earlier, keyframe: false });
    if (!r.ok) throw r.error;
    expectCode(codec.decode(r.value.frame, 'gw-1'), 'ET_ERR_UNKNOWN_REFERENCE');
    expectCode(
      codec.decode(r.value.frame, 'gw-1', [earlier[1]!.body, earlier[0]!.body]),
      'ET_ERR_UNKNOWN_REFERENCE',
      /CRC/,
    );
    const other = Buffer.from(earlier[1]!.body);
    other[other.length - 1] = (other[other.length - 1] as number) ^ 1;
    expectCode(codec.decode(r.value.frame, 'gw-1', [earlier[0]!.body, other]), 'ET_ERR_UNKNOWN_REFERENCE', /CRC/);
  });

  it('lists the references as distances from the batch with one CRC for all: 3 + k + 4 bytes for k references nearby', () => {
    const r = codec.reencode(codec.encode(batchAt(10)), { epoch, seq: 10, references: earlier, keyframe: false });
    if (!r.ok) throw r.error;
    const head = codec.head(r.value.frame);
    if (!head.ok) throw head.error;
    expect(head.value.version).toBe(BATCH_FRAME_VERSION);
    expect(head.value.bodyOffset - 5).toBe(3 + earlier.length + 4);
    // Distance 0 (the batch itself) or 11 (before seq 0), zigzag 0 and 22, is refused before anything is decompressed.
    for (const zigzag of [0, 22]) {
      const bad = Buffer.from(r.value.frame);
      bad[5 + 3] = zigzag;
      expectCode(codec.head(bad), 'ET_ERR_INVALID_FIELD', /distance/);
    }
    expect(
      codec.reencode(codec.encode(batchAt(2)), { epoch, seq: 2, references: earlier, keyframe: false }),
    ).toMatchObject({ ok: false });
  });

  it('a backlog batch drained after an outage refers to newer keyframes', () => {
    const r = codec.reencode(codec.encode(batchAt(0)), { epoch, seq: 0, references: earlier, keyframe: false });
    if (!r.ok) throw r.error;
    const head = codec.head(r.value.frame);
    expect(head.ok && head.value.references).toEqual([1, 2]);
    const d = codec.decode(
      r.value.frame,
      'gw-1',
      earlier.map((e) => e.body),
    );
    if (!d.ok) throw d.error;
    expect(d.value.seq).toBe(0);
  });

  it('refuses a frame of another version (the unreleased 2 to 4, a future 5) before decompressing, in head, decode and reencode', () => {
    const own = codec.encode(batchAt(12));
    expect(own[2]).toBe(BATCH_FRAME_VERSION);
    for (const version of [0, 2, 3, 4, 5]) {
      const other = Buffer.from(own);
      other[2] = version;
      const why = new RegExp(`frame.version: ${version}, this side reads ${BATCH_FRAME_VERSION}`);
      expectCode(codec.head(other), 'ET_ERR_UNSUPPORTED_VERSION', why);
      expectCode(codec.decode(other), 'ET_ERR_UNSUPPORTED_VERSION', why);
      // A frame an older build left in an outbox: not re-encoded; the sender sends it as it is and the ingester refuses it.
      expectCode(
        codec.reencode(other, { epoch, seq: 12, references: earlier, keyframe: false }),
        'ET_ERR_UNSUPPORTED_VERSION',
        why,
      );
    }
  });

  it('rejects a head that lies about the batch it carries, or lists references with a dictionary', () => {
    const r = codec.reencode(codec.encode(batchAt(8)), { epoch, seq: 9, references: earlier, keyframe: false });
    if (!r.ok) throw r.error;
    expectCode(
      codec.decode(
        r.value.frame,
        'gw-1',
        earlier.map((e) => e.body),
      ),
      'ET_ERR_INVALID_FIELD',
      /9.*8/,
    );
    const both = Buffer.from(r.value.frame);
    both[4] = (both[4] as number) | FrameFlags.dictionary;
    expectCode(
      codec.decode(
        both,
        'gw-1',
        earlier.map((e) => e.body),
      ),
      'ET_ERR_INVALID_FIELD',
      /dictionary/,
    );
  });
});
