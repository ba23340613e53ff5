import { describe, expect, it } from 'vitest';
import { resolveUplinkOptions } from './options.js';

describe('resolveUplinkOptions', () => {
  it('fills every default', () => {
    const o = resolveUplinkOptions({ outbox: { dir: '/data/outbox' }, mqtt: { url: 'mqtt://broker:1883' } });
    expect(o.outbox).toEqual({
      dir: '/data/outbox',
      capBytes: 256 * 1024 * 1024,
      recordCapBytes: 1024 * 1024,
      segmentBytes: 4 * 1024 * 1024,
    });
    expect(o.mqtt).toMatchObject({
      protocolVersion: 5,
      keepaliveSec: 60,
      reconnectMinMs: 1000,
      reconnectMaxMs: 120_000,
    });
    expect(o.sender).toEqual({
      window: 32,
      ackTimeoutMs: 60_000,
      minAckTimeoutMs: 5000,
      drainHorizonMs: 6 * 3_600_000,
      references: 12,
      referenceBytes: 393_216,
      keyframeEvery: 2,
    });
    expect(o.budget).toEqual({ rateBytesPerSec: 0, burstSeconds: 10, dailyBytes: 0 });
  });

  it('names the offending field', () => {
    const bad = (input: unknown) => {
      try {
        resolveUplinkOptions(input);
      } catch (err) {
        return (err as { code: string; detail: string }).code + ' ' + (err as { detail: string }).detail.split(':')[0];
      }
      return 'accepted';
    };
    expect(bad({ outbox: { dir: '/d' }, mqtt: { url: 'mqtt://b', protocolVersion: 3 } })).toBe(
      'ET_ERR_OPTIONS /mqtt/protocolVersion',
    );
    expect(bad({ outbox: { dir: '/d', capBytes: 10 }, mqtt: { url: 'mqtt://b' } })).toBe(
      'ET_ERR_OPTIONS /outbox/capBytes',
    );
    expect(bad({ outbox: { dir: '/d' }, mqtt: { url: 'mqtt://b', reconnectMinMs: 5000, reconnectMaxMs: 1000 } })).toBe(
      'ET_ERR_OPTIONS /mqtt/reconnectMaxMs',
    );
    expect(bad({ mqtt: { url: 'mqtt://b' } })).toBe('ET_ERR_OPTIONS /outbox');
    expect(bad({ outbox: { dir: '/d' }, mqtt: { url: 'mqtt://b', tls: { ca: '/ca.pem' } } })).toBe('accepted');
  });
});
