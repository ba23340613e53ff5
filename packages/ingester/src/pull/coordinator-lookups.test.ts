/**
 * Pull messages for ids this ingester does not run are looked up in ClickHouse (a pull another
 * ingester accepted); the session-9 trial found one node could make it read 200 times a second with
 * random ids under its own up/pull/ topic (its message quota), slowing the API for everyone. The
 * reads are now bounded per node: the real coordinator on the embedded engine, its reads counted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePull, encodePull } from '@edge-telemetry/protocol';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { TABLES } from '../storage/tables.js';
import { createPullCoordinator, LOOKUP_BURST, type PullCoordinator } from './coordinator.js';
import { pullCoordinatorOptions } from './options.js';

describe('pull messages for unknown ids', () => {
  let ch: EmbeddedClickHouse;
  let reads = 0;
  let t = Date.UTC(2026, 11, 7, 4);
  let coordinator: PullCoordinator;
  beforeAll(async () => {
    ch = await openMigrated('pull-lookups', (inner) => ({
      ...inner,
      ping: (p) => inner.ping(p),
      query: (p) => {
        // A lookup by id; the orphan scan of the coordinator's timer reads the same table.
        if (p.query.includes(TABLES.pulls) && !p.query.includes('State IN')) reads++;
        return inner.query(p);
      },
      insert: (p) => inner.insert(p),
      exec: (p) => inner.exec(p),
      command: (p) => inner.command(p),
      close: () => inner.close(),
    }));
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;
    coordinator = createPullCoordinator({
      client: ch.client,
      publish: async () => undefined,
      logger: silent,
      options: pullCoordinatorOptions({}),
      audit: { record: async () => undefined },
      ingesterId: 'ingester-a',
      nodes: { describe: async () => ({ known: false }) },
      now: () => t,
    });
  }, 60_000);
  afterAll(async () => {
    coordinator?.close();
    await ch?.close();
  });

  const chunk = (node: string, pullId: string) =>
    coordinator.handle(node, pullId, encodePull({ v: 1, type: 'chunk', node, pullId, seq: 0, lines: ['x'] }));

  it('reads ClickHouse at most a burst per node, then a few a second; other nodes are looked up as before', async () => {
    reads = 0;
    for (let i = 0; i < 200; i++) await chunk('flooder', randomUUID());
    expect(reads).toBe(LOOKUP_BURST);
    const c = coordinator.counters();
    expect([c.chunksReceived, c.chunksIgnored, c.lookupsRefused]).toEqual([200, 200, 200 - LOOKUP_BURST]);
    // Another node is not held back by the first one's flood.
    await chunk('quiet', randomUUID());
    expect(reads).toBe(LOOKUP_BURST + 1);
    // The flooder gets reads back as time passes, not before.
    await chunk('flooder', randomUUID());
    expect(reads).toBe(LOOKUP_BURST + 1);
    t += 1000;
    await chunk('flooder', randomUUID());
    expect(reads).toBe(LOOKUP_BURST + 2);
  }, 60_000);

  it('decodes nothing for a pull it does not run: a corrupt chunk is ignored unread, not counted bad', async () => {
    // A chunk of a few hundred bytes may decompress to 4 MiB of lines: decoding each named pull
    // first made that the cost of any message under a node's up/pull/, at its message rate.
    const good = encodePull({ v: 1, type: 'chunk', node: 'bomber', pullId: 'p-0', seq: 0, lines: ['x'.repeat(1000)] });
    const corrupt = Buffer.concat([good.subarray(0, good.length - 8), Buffer.alloc(8, 0xff)]);
    expect(decodePull(corrupt, 'bomber', 'p-0').ok).toBe(false);
    const before = coordinator.counters();
    for (let i = 0; i < 20; i++) await coordinator.handle('bomber', `p-${i}`, corrupt);
    const c = coordinator.counters();
    expect(c.badMessages - before.badMessages).toBe(0);
    expect([c.chunksReceived - before.chunksReceived, c.chunksIgnored - before.chunksIgnored]).toEqual([20, 20]);
  }, 60_000);
});
