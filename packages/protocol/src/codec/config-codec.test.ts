import { describe, expect, it } from 'vitest';
import { canonicalJson, configHash, createConfigCodec, type ConfigDocument } from './config-codec.js';
import { decodeCommand, decodeStatus, encodeCommand, encodeStatus } from './control-codec.js';
import type { StatusMessage } from '../types/messages.js';
import { limits } from '../limits.js';

const doc: ConfigDocument = {
  options: { logs: { defaults: { filter: { minLevel: 'debug', exclude: ['/healthz'] } } } },
  debug: {
    id: 'dbg-1',
    until: 1_764_300_900_000,
    forMs: 900_000,
    extraBytes: 1_000_000,
    level: 'debug',
    containers: ['api*'],
  },
};

describe('config commands', () => {
  const codec = createConfigCodec();

  it('carry the document compressed, with its hash, through the command codec', () => {
    const cmd = codec.command(doc, 7, 1_764_300_600_000);
    expect(cmd).toMatchObject({ v: 1, type: 'config', rev: 7, docVersion: 1, hash: configHash(doc) });
    const wire = encodeCommand(cmd);
    const back = decodeCommand(wire);
    expect(back).toEqual({ ok: true, value: cmd });
    expect(back.ok && back.value.type === 'config' && codec.document(back.value)).toEqual({ ok: true, value: doc });
  });

  it('hash the canonical JSON: key order does not matter', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(configHash({ a: 1, b: 2 })).toBe(configHash({ b: 2, a: 1 }));
  });

  it('refuse a document that differs from its hash, a bad shape, another version or one too large', () => {
    const cmd = codec.command(doc, 1, 1);
    const other = codec.command({ options: {} }, 1, 1);
    expect(codec.document({ ...cmd, doc: other.doc })).toMatchObject({
      ok: false,
      error: { code: 'ET_ERR_INVALID_FIELD', detail: 'hash: differs from the document' },
    });
    expect(codec.document({ ...cmd, docVersion: 2 })).toMatchObject({
      ok: false,
      error: { code: 'ET_ERR_UNSUPPORTED_VERSION' },
    });
    expect(codec.document({ ...cmd, doc: 'AAAA' })).toMatchObject({
      ok: false,
      error: { code: 'ET_ERR_CORRUPT_COMPRESSION' },
    });
    expect(() => codec.command({ options: [] as never }, 1, 1)).toThrow(/options: expected an object/);
    expect(() =>
      codec.command(
        { options: {}, debug: { ...(doc.debug as NonNullable<ConfigDocument['debug']>), level: 'warn' as never } },
        1,
        1,
      ),
    ).toThrow(/debug\.level/);
    const big = { options: { x: 'y'.repeat(limits.maxConfigDocBytes) } };
    expect(() => codec.command(big, 1, 1)).toThrow(/limit/);
    expect(decodeCommand(Buffer.from(JSON.stringify({ ...cmd, hash: 'nope' })))).toMatchObject({ ok: false });
  });

  it('status messages carry labels and the configuration state', () => {
    const status: StatusMessage = {
      v: 1,
      node: 'gw-1',
      state: 'online',
      at: 1,
      agentVersion: '0.1.0',
      labels: { site: 'berlin' },
      config: {
        state: 'failed',
        rev: 3,
        reason: 'logs.defaults.filter.minLevel: must be one of trace, debug, info, warn, error, fatal',
        appliedRev: 2,
        docHash: 'a'.repeat(64),
        effectiveHash: 'b'.repeat(64),
        restartNeeded: ['uplink.budget.dailyBytes'],
        debugUntil: 5,
      },
    };
    expect(decodeStatus(encodeStatus(status), 'gw-1')).toEqual({ ok: true, value: status });
    expect(() => encodeStatus({ ...status, config: { ...status.config!, state: 'maybe' as never } })).toThrow(
      /config\.state/,
    );
  });
});
