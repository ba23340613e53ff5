/**
 * Hostile input: the node's command parser (decodeCommand) against seeded mutations of valid
 * pull, cancel, resend and config commands. Each input is either a command the protocol allows (and it
 * round-trips) or refused with a ProtocolError code from the catalogue and a reason; none throws.
 */
import { describe, expect, it } from 'vitest';
import {
  createConfigCodec,
  decodeCommand,
  encodeCommand,
  ProtocolError,
  ProtocolErrorCodes,
  type CommandMessage,
} from '@edge-telemetry/protocol';
import { seededRng } from '../../packages/protocol/src/testing/index.js';
import { mutateJson } from './mutate.js';
import { heapBound } from './heap.js';

export const COMMAND_CASES = 6000;

const t0 = 1_795_000_000_000;
const configCodec = createConfigCodec();
const VALID: CommandMessage[] = [
  {
    v: 1,
    type: 'pull',
    pullId: 'p-1',
    expiresAt: t0 + 600_000,
    filter: {
      since: t0 - 7_200_000,
      until: t0,
      container: 'api',
      level: 'warn',
      grep: 'timeout',
      tail: 1000,
      maxBytes: 1_000_000,
    },
    fromChunk: 0,
  },
  { v: 1, type: 'pull', pullId: 'AbC_-9', expiresAt: t0 + 1, filter: { since: 0 }, fromChunk: 12 },
  { v: 1, type: 'cancel', pullId: 'p-2', expiresAt: t0 },
  { v: 1, type: 'resend', pullId: 'p-3', expiresAt: t0, chunks: [0, 3, 9] },
  configCodec.command(
    {
      options: { logs: { defaults: { filter: { minLevel: 'debug' } } } },
      debug: {
        id: 'd-1',
        until: t0 + 900_000,
        forMs: 900_000,
        extraBytes: 65_536,
        level: 'debug',
        containers: ['api*'],
      },
    },
    12,
    t0 + 600_000,
  ),
];

describe('fuzzed command parsing (seeded)', () => {
  it(`${COMMAND_CASES} mutated commands are each a valid command or refused with a coded reason`, async () => {
    const heap = heapBound();
    for (const c of VALID) expect(decodeCommand(encodeCommand(c))).toEqual({ ok: true, value: c });
    const rng = seededRng(0x8c0de);
    const outcomes = { ok: 0, rejected: 0 };
    const byCode: Record<string, number> = {};
    const byKind: Record<string, number> = {};
    for (let i = 0; i < COMMAND_CASES; i++) {
      const m = mutateJson(rng, VALID[i % VALID.length]);
      byKind[m.kind] = (byKind[m.kind] ?? 0) + 1;
      const r = decodeCommand(m.body);
      if (r.ok) {
        // Whatever is accepted is a command the sender could have encoded itself (this throws if not).
        encodeCommand(r.value);
        // A config command's document is then decompressed and checked: refused with a code, never thrown.
        if (r.value.type === 'config') {
          const d = configCodec.document(r.value);
          if (!d.ok) expect(Object.keys(ProtocolErrorCodes)).toContain(d.error.code);
        }
        outcomes.ok++;
        continue;
      }
      if (!(r.error instanceof ProtocolError) || !(r.error.code in ProtocolErrorCodes) || r.error.detail === '')
        throw new Error(`case ${i} (${m.kind}): bad refusal ${String(r.error)}`);
      byCode[r.error.code] = (byCode[r.error.code] ?? 0) + 1;
      outcomes.rejected++;
    }
    expect(outcomes.ok + outcomes.rejected).toBe(COMMAND_CASES);
    // Every mutation kind ran, and refusals carry several distinct reasons.
    expect(Object.keys(byKind).length).toBeGreaterThanOrEqual(12);
    expect(outcomes.rejected).toBeGreaterThan(COMMAND_CASES * 0.7);
    expect(Object.keys(byCode)).toEqual(
      expect.arrayContaining(['ET_ERR_BAD_JSON', 'ET_ERR_TOO_LARGE', 'ET_ERR_UNSUPPORTED_VERSION']),
    );
    await heap.expectWithin(64 * 1024 * 1024);
  });
});
