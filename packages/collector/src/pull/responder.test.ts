import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPullCodec, type PullCommand, type PullMessage } from '@edge-telemetry/protocol';
import { LogStore } from '../store/log-store.js';
import { logStoreOptions } from '../store/options.js';
import { Redactor } from '../transforms/redact/redactor.js';
import { redactOptions } from '../transforms/redact/options.js';
import { systemClock } from '../uplink/sender/clock.js';
import { formatPulledLine } from './line-format.js';
import { pullOptions } from './options.js';
import { PullResponder } from './responder.js';
import { waitFor } from '../../../../test/support/wait.js';

const NODE = 'gw-1';
const T0 = Date.UTC(2026, 10, 1);

describe('PullResponder', () => {
  let dir: string;
  let store: LogStore;
  let sent: PullMessage[];
  let up: boolean;
  const codec = createPullCodec();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-pull-'));
    store = await LogStore.open(logStoreOptions({ dir }));
    for (let i = 0; i < 3000; i++) {
      store.append({
        ts: T0 + i * 10,
        container: i % 3 === 0 ? 'api' : 'db',
        stream: 'stdout',
        level: i % 7 === 0 ? 4 : 2,
        line: `request ${i} done user=u${i % 17}@example.com\nsecond`,
      });
    }
    await store.flush();
    sent = [];
    up = true;
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function responder(opts: Record<string, unknown> = {}, redact: boolean | Redactor = false) {
    return new PullResponder({
      node: NODE,
      store,
      link: {
        publish: async (_topic, payload) => {
          const m = codec.decode(payload, NODE);
          if (!m.ok) throw m.error;
          sent.push(m.value);
        },
        connected: () => up,
      },
      options: pullOptions({ chunkBytes: 4096, ...opts }),
      redactor: redact === true ? new Redactor(redactOptions()) : redact === false ? undefined : redact,
      clock: systemClock,
    });
  }
  const cmd = (c: Partial<PullCommand> & Pick<PullCommand, 'type'>): PullCommand =>
    ({
      v: 1,
      pullId: 'p1',
      expiresAt: Date.now() + 60_000,
      filter: { since: T0, until: T0 + 30_000 },
      fromChunk: 0,
      ...c,
    }) as PullCommand;
  const ended = () => sent.find((m) => m.type === 'end');
  const until = (f: () => boolean) => waitFor('the responder', f);
  async function expected(filter: { container?: string; level?: 0 | 1 | 2 | 3 | 4 | 5 }) {
    const out: string[] = [];
    for await (const r of store.query({ since: T0, until: T0 + 30_000, ...filter })) out.push(formatPulledLine(r));
    return out;
  }
  const digest = (lines: string[]) =>
    createHash('sha256')
      .update(lines.map((l) => l + '\n').join(''))
      .digest('hex');
  const chunkLines = () =>
    sent
      .flatMap((m) => (m.type === 'chunk' ? [m] : []))
      .sort((a, b) => a.seq - b.seq)
      .flatMap((c) => c.lines);

  it('streams the filtered lines in numbered chunks, then totals and a digest equal to the store', async () => {
    const r = responder();
    r.handle(cmd({ type: 'pull', filter: { since: T0, until: T0 + 30_000, container: 'api', level: 'error' } }));
    await until(() => ended() !== undefined);
    const want = await expected({ container: 'api', level: 4 });
    expect(want.length).toBeGreaterThan(100);
    expect(chunkLines()).toEqual(want);
    const end = ended();
    expect(end).toMatchObject({ type: 'end', lines: want.length, digest: digest(want) });
    expect(r.stats().chunksPublished).toBe(end?.type === 'end' ? end.chunks : -1);
    expect(want[0]).toMatch(
      /^2026-11-01T\d\d:\d\d:\d\d\.\d{3}Z\tapi\tstdout\tERROR\trequest \d+ done user=u\d+@example\.com\\nsecond$/,
    );
  });

  it('resumes from fromChunk and resends only the chunks asked for', async () => {
    const r = responder();
    r.handle(cmd({ type: 'pull', fromChunk: 5 }));
    await until(() => ended() !== undefined);
    const end = ended();
    if (end?.type !== 'end') throw new Error('no end');
    const seqs = sent.flatMap((m) => (m.type === 'chunk' ? [m.seq] : []));
    expect(seqs).toEqual(Array.from({ length: end.chunks - 5 }, (_, i) => i + 5));
    sent = [];
    r.handle({ v: 1, type: 'resend', pullId: 'p1', expiresAt: Date.now() + 60_000, chunks: [1, 3] });
    await until(() => ended() !== undefined);
    expect(sent.flatMap((m) => (m.type === 'chunk' ? [m.seq] : []))).toEqual([1, 3]);
    expect(ended()).toMatchObject({ digest: end.digest, chunks: end.chunks });
  });

  it('a resend asked again while its pass runs: chunks the pass has still to publish go once, those it sent go again', async () => {
    // The ingester asks again when its stall timer fires before the chunks it asked for arrive (a
    // slow pass over a large store, a starved node). The chunks the running pass had still to
    // publish were published by it and then again by a next pass: twice over a metered link.
    let holding: (() => void) | undefined;
    let holdNext = false;
    const r = new PullResponder({
      node: NODE,
      store,
      link: {
        publish: async (_topic, payload) => {
          const m = codec.decode(payload, NODE);
          if (!m.ok) throw m.error;
          sent.push(m.value);
          // The first chunk of the resend pass stays unacknowledged until the test lets it go.
          if (holdNext && m.value.type === 'chunk') {
            holdNext = false;
            await new Promise<void>((resolve) => (holding = resolve));
          }
        },
        connected: () => true,
      },
      options: pullOptions({ chunkBytes: 4096, window: 1 }),
      redactor: undefined,
      clock: systemClock,
    });
    r.handle(cmd({ type: 'pull' }));
    await until(() => ended() !== undefined);
    const first = ended();
    sent = [];
    holdNext = true;
    const resend = { v: 1 as const, type: 'resend' as const, pullId: 'p1', expiresAt: Date.now() + 60_000 };
    r.handle({ ...resend, chunks: [1, 3] });
    await until(() => holding !== undefined);
    // Chunk 1 is out (its PUBACK pending), chunk 3 not yet: the ingester asks for both again.
    r.handle({ ...resend, chunks: [1, 3] });
    holding?.();
    await until(() => ended() !== undefined);
    expect(sent.flatMap((m) => (m.type === 'chunk' ? [m.seq] : []))).toEqual([1, 3, 1]);
    expect(ended()).toMatchObject({ digest: first?.type === 'end' ? first.digest : '?' });
  });

  it('answers a resend and a pull taken over by another ingester with the lines of its first pass', async () => {
    // Lines stored after the first pass with times inside the range (read late, from a backlog)
    // shifted the chunks of a resumed pass against those already sent: the digest failed the pull.
    const r = responder();
    r.handle(cmd({ type: 'pull' }));
    await until(() => ended() !== undefined);
    const first = ended();
    if (first?.type !== 'end') throw new Error('no end');
    const chunks = new Map(sent.flatMap((m) => (m.type === 'chunk' ? [[m.seq, m.lines] as const] : [])));
    for (let i = 0; i < 500; i++)
      store.append({ ts: T0 + 5 + i * 10, container: 'api', stream: 'stdout', level: 4, line: `late ${i}` });
    expect((await expected({})).length).toBe(first.lines + 500);
    sent = [];
    r.handle({ v: 1, type: 'resend', pullId: 'p1', expiresAt: Date.now() + 60_000, chunks: [0, 2] });
    await until(() => ended() !== undefined);
    for (const m of sent) if (m.type === 'chunk') expect(m.lines).toEqual(chunks.get(m.seq));
    expect(ended()).toMatchObject({ digest: first.digest, chunks: first.chunks, lines: first.lines });
    sent = [];
    r.handle(cmd({ type: 'pull', fromChunk: 0 }));
    await until(() => ended() !== undefined);
    expect(chunkLines()).toEqual([...chunks.keys()].sort((a, b) => a - b).flatMap((k) => chunks.get(k) ?? []));
    expect(ended()).toMatchObject({ digest: first.digest, lines: first.lines });
  });

  it('ignores expired commands and stops a cancelled pull', async () => {
    const r = responder({ allowance: { rateBytesPerSec: 20_000, burstSeconds: 0.1 } });
    r.handle(cmd({ type: 'pull', pullId: 'old', expiresAt: Date.now() - 1 }));
    expect(r.stats()).toMatchObject({ commandsExpired: 1, active: 0 });
    r.handle(cmd({ type: 'pull' }));
    await until(() => sent.length >= 2);
    r.handle({ v: 1, type: 'cancel', pullId: 'p1', expiresAt: Date.now() + 60_000 });
    await until(() => r.stats().active === 0);
    const published = r.stats().chunksPublished;
    expect(ended()).toMatchObject({ error: expect.stringMatching(/^ET_ERR_PULL_CANCELLED/) });
    r.handle(cmd({ type: 'pull' }));
    await new Promise((res) => setTimeout(res, 100));
    expect(r.stats()).toMatchObject({ chunksPublished: published, pullsCancelled: 1, active: 0 });
  });

  it('waits while the link is down and redacts unless told otherwise', async () => {
    up = false;
    const r = responder({ reconnectPollMs: 10 }, true);
    r.handle(cmd({ type: 'pull' }));
    await new Promise((res) => setTimeout(res, 100));
    expect(sent).toEqual([]);
    up = true;
    await until(() => ended() !== undefined);
    expect(chunkLines().some((l) => l.includes('@example.com'))).toBe(false);
    expect(chunkLines()[0]).toContain('[REDACTED:');
    expect(r.stats().redactions).not.toEqual({});
  });

  // The store keeps lines unredacted: a grep on them would answer whether a secret begins with
  // what was asked, one pull per guess, while every line shipped is redacted.
  it('greps the redacted line when it redacts, so that a grep cannot probe a secret', async () => {
    const count = async (grep: string, id: string) => {
      const r = responder({}, true);
      r.handle(cmd({ type: 'pull', pullId: id, filter: { since: T0, until: T0 + 30_000, grep } }));
      await until(() => sent.some((m) => m.type === 'end' && m.pullId === id));
      const end = sent.find((m) => m.type === 'end' && m.pullId === id);
      return end?.type === 'end' ? end.lines : -1;
    };
    expect(await count('u3@example.com', 'secret')).toBe(0);
    expect(await count('user=[REDACTED:email]', 'label')).toBe(3000);
  });

  // The grep redacted each line in range to match it, and the lines it matched were redacted again
  // to be shipped: twice the redaction's CPU on a redacting pull's lines.
  it('redacts each line once on a redacting grep pull, shipping and counting what it matched', async () => {
    const redactor = new Redactor(redactOptions());
    const redact = vi.spyOn(redactor, 'redact');
    const r = responder({}, redactor);
    // Lines 1, 10-19, 100-199 and 1000-1999 of the 3,000.
    r.handle(cmd({ type: 'pull', filter: { since: T0, until: T0 + 30_000, grep: 'request 1' } }));
    await until(() => ended() !== undefined);
    const plain = new Redactor(redactOptions());
    const want: string[] = [];
    for await (const rec of store.query({ since: T0, until: T0 + 30_000 })) {
      const text = plain.redact(rec.line, {});
      if (text.includes('request 1')) want.push(formatPulledLine(rec, text));
    }
    expect(want.length).toBe(1111);
    expect(chunkLines()).toEqual(want);
    expect(redact).toHaveBeenCalledTimes(3000);
    expect(r.stats().redactions).toEqual({ email: 1111 });
  });
});
