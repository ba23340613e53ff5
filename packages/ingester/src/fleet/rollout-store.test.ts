import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, type EmbeddedClickHouse } from '../../../../test/support/clickhouse.js';
import { TABLES } from '../storage/tables.js';
import { createRolloutStore } from './rollout-store.js';

describe('rollout store on embedded ClickHouse', () => {
  let engine: EmbeddedClickHouse;
  beforeAll(async () => {
    engine = await openMigrated('rollout-store');
  });
  afterAll(() => engine.close());

  it("counts a stage's drops without those the configuration asks for (the log filter)", async () => {
    // An hour ago, not a fixed date: health and drop rows older than the ledger's retention (30
    // days) are removed by the engine's TTL merges, at a moment of its choosing, so a fixed date in
    // the test would begin to fail a month after it was written.
    const from = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const at = (ms: number) => `fromUnixTimestamp64Milli(toInt64(${ms}))`;
    await engine.client.command({
      query: `INSERT INTO ${TABLES.health} (Timestamp, NodeName, BudgetLeftBytes, DegradeLevel)
        VALUES (${at(from - 60_000)}, 'rs-1', -1, 0), (${at(from + 60_000)}, 'rs-1', -1, 0)`,
    });
    // During the hold: the filter the change raised dropped 5,822 lines, a throttle 7.
    await engine.client.command({
      query: `INSERT INTO ${TABLES.drops} (Timestamp, NodeName, Stage, Reason, ContainerName, Count) VALUES
        (${at(from + 60_000)}, 'rs-1', 'logs.filter', 'below_level', 'app', 5822),
        (${at(from + 60_000)}, 'rs-1', 'logs.throttle', 'rate_limited', 'app', 7),
        (${at(from - 60_000)}, 'rs-1', 'logs.verbatim', 'cap_logs', 'app', 2)`,
    });
    const [h] = await createRolloutStore(engine.client).health(['rs-1'], from, 300_000);
    expect(h).toMatchObject({ node: 'rs-1', batches: 1, dropsDuring: 7, dropsBefore: 2 });
  });
});
