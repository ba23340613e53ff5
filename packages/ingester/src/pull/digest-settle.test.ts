/**
 * The digest of a pull that an ingester follows (another ingester accepted it) is read back from
 * ClickHouse when the node's `end` reaches it. Two interleavings made a correct pull fail with
 * ET_ERR_PULL_DIGEST_MISMATCH: two `end`s (the passes of a resume, resends asked by two ingesters)
 * reaching it while it read which chunks the others stored, so that two read-backs added their
 * lines to one running hash; and a read-back cut by an engine error, whose lines stayed in the
 * running hash when the next `end` read them again. Both after a takeover (pull-takeover.test.ts,
 * which ended `failed` at load 24, when such reads take seconds). Here the real coordinator on the
 * embedded engine, with its reads held or failed on cue.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePull } from '@edge-telemetry/protocol';
import { faultSwitch, openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createPullCoordinator, type PullCoordinator } from './coordinator.js';
import { pullCoordinatorOptions } from './options.js';
import { loadPull } from './repository.js';

const NODE = 'gw-digest';
const TERMINAL = new Set(['done', 'failed', 'expired', 'cancelled']);
// More chunks than one read-back takes (64): the digest is read in several statements.
const CHUNKS = 150;
const LINES_PER_CHUNK = 4;
// No lease runs out and no heartbeat or scan runs while a case does: only the messages act.
const options = pullCoordinatorOptions({ leaseMs: 3_600_000 });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;

const chunkLines = (seq: number): string[] =>
  Array.from({ length: LINES_PER_CHUNK }, (_, i) => `2026-12-07T04:00:00.000Z\tapi\tstdout\tINFO\tline ${seq}:${i}`);

function endOf(id: string): Buffer {
  const hash = createHash('sha256');
  let bytes = 0;
  for (let s = 0; s < CHUNKS; s++) {
    const lines = chunkLines(s);
    hash.update(lines.join('\n') + '\n');
    for (const l of lines) bytes += Buffer.byteLength(l);
  }
  return encodePull({
    v: 1,
    type: 'end',
    node: NODE,
    pullId: id,
    chunks: CHUNKS,
    lines: CHUNKS * LINES_PER_CHUNK,
    bytes,
    digest: hash.digest('hex'),
  });
}

describe('the digest of a followed pull, read back from ClickHouse', () => {
  let ch: EmbeddedClickHouse;
  const sw = faultSwitch();
  /** Line reads to let through before the next one fails (undefined: none fails). */
  let failLineReadAfter: number | undefined;
  const running: PullCoordinator[] = [];

  beforeAll(async () => {
    ch = await openMigrated('pull-digest', (inner) => {
      const held = sw.wrap(inner);
      return {
        ...held,
        query: (p) => {
          if (failLineReadAfter !== undefined && p.query.startsWith('SELECT Line FROM')) {
            if (failLineReadAfter === 0) {
              failLineReadAfter = undefined;
              return Promise.reject(new Error('injected: read cut'));
            }
            failLineReadAfter--;
          }
          return held.query(p);
        },
      };
    });
  }, 60_000);
  afterAll(async () => {
    sw.set('ok');
    for (const c of running) c.close();
    await ch?.close();
  });

  function coordinator(ingesterId: string): PullCoordinator {
    const c = createPullCoordinator({
      client: ch.client,
      publish: async () => undefined,
      logger: silent,
      options,
      audit: { record: async () => undefined },
      ingesterId,
      nodes: { describe: async () => ({ known: true, capabilities: undefined }) },
    });
    running.push(c);
    return c;
  }

  /** A pull accepted by `owner` whose every chunk `follower` got and stored (the owner got none). */
  async function followedPull(owner: PullCoordinator, follower: PullCoordinator): Promise<string> {
    const { id } = await owner.create({
      node: NODE,
      filter: { since: Date.now() - 3_600_000 },
      actor: undefined,
      remoteAddress: '127.0.0.1',
    });
    const stored = follower.counters().chunksStored;
    for (let seq = 0; seq < CHUNKS; seq++)
      await follower.handle(
        NODE,
        id,
        encodePull({ v: 1, type: 'chunk', node: NODE, pullId: id, seq, lines: chunkLines(seq) }),
      );
    await waitFor('every chunk stored', () => follower.counters().chunksStored === stored + CHUNKS);
    expect(follower.counters().followed).toBeGreaterThan(0);
    return id;
  }

  async function finished(c: PullCoordinator, id: string): Promise<{ state: string; error?: string }> {
    // Its state row stored too: no statement of it is left running when the engine closes.
    await waitFor(`pull ${id} stored as finished`, async () =>
      TERMINAL.has((await loadPull(ch.client, id))?.state ?? ''),
    );
    const r = await c.get(id);
    return { state: r?.state ?? '', ...(r?.error ? { error: r.error } : {}) };
  }

  it('is done when two ends reach it while it reads which chunks the others stored', async () => {
    const [a, b] = [coordinator('ingester-a'), coordinator('ingester-b')];
    const id = await followedPull(a, b);
    // Both ends' settling waits at the same read, then both go on together.
    sw.set('stall', /^SELECT DISTINCT Seq/);
    const refused = sw.refused;
    await b.handle(NODE, id, endOf(id));
    await b.handle(NODE, id, endOf(id));
    await waitFor('both ends waiting for the stored chunks', () => sw.refused >= refused + 2);
    sw.set('ok');
    expect(await finished(b, id)).toEqual({ state: 'done' });
  }, 120_000);

  it('is done when the read-back of its lines failed part way and the next end reads them again', async () => {
    const [a, b] = [coordinator('ingester-c'), coordinator('ingester-d')];
    const id = await followedPull(a, b);
    // The first of the read-back's statements goes through, the second fails.
    failLineReadAfter = 1;
    await b.handle(NODE, id, endOf(id));
    await waitFor('the read-back cut', () => failLineReadAfter === undefined);
    // The node's next end (the owner's stall timer asks for it): the digest is read again.
    await waitFor(
      'the pull finished by a later end',
      async () => {
        await b.handle(NODE, id, endOf(id));
        return TERMINAL.has((await loadPull(ch.client, id))?.state ?? '');
      },
      { intervalMs: 200 },
    );
    expect(await finished(b, id)).toEqual({ state: 'done' });
  }, 120_000);
});
