/**
 * Version 14: `/api/v1/nodes` finds each node's last batch in the ledger's projection, reading about
 * a row per node and part, not every batch of the retention (review, session 13: 671 ms at 1,000
 * nodes x 30 days, growing with the ledger). The bound on rows read is what shows which one it read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigrated, type EmbeddedClickHouse } from '../../../../../test/support/clickhouse.js';
import { listNodes } from '../../api/queries.js';
import { unboundedReads, type Reads } from '../bounded-reads.js';
import { TABLES } from '../tables.js';

const NODES = 100;
const BATCHES = 300_000;
/** Far fewer than the ledger's rows, far more than a row per node and part. */
const ROWS_BOUND = 10_000;

describe('migration 0014: the ledger keeps each node’s last batch time', () => {
  let ch: EmbeddedClickHouse;
  const now = Date.now();

  beforeAll(async () => {
    ch = await openMigrated('ledger-last-seen');
    // A batch a second, node after node, over the last three and a half days (a few day partitions).
    await ch.client.command({
      query: `INSERT INTO ${TABLES.ledger} (NodeName, Epoch, Seq, ReceivedAt, NodeSentAt, ClockSkewMs, WindowStart, WindowEnd, Rows, WireBytes, IngesterId)
        SELECT concat('gw-', toString(number % {nodes:UInt32})), 1, number, fromUnixTimestamp64Milli(toInt64({now:Int64} - number * 1000)),
          fromUnixTimestamp64Milli(toInt64({now:Int64} - number * 1000)), 0, fromUnixTimestamp64Milli(toInt64({now:Int64} - number * 1000 - 60000)),
          fromUnixTimestamp64Milli(toInt64({now:Int64} - number * 1000)), 10, 1000, 'test'
        FROM numbers({batches:UInt32})`,
      query_params: { nodes: NODES, now, batches: BATCHES },
    });
  });
  afterAll(async () => ch?.close());

  it("lists every node's last batch within a bound on rows read that the ledger's rows are far over", async () => {
    const plain = unboundedReads(ch.client);
    const bounded: Reads = {
      rows: (query, params) =>
        plain.rows(`${query}\nSETTINGS max_rows_to_read = ${ROWS_BOUND}, read_overflow_mode = 'throw'`, params),
    };
    const nodes = await listNodes(bounded, now, 300);
    expect(nodes).toHaveLength(NODES);
    expect(nodes.find((n) => n.node === 'gw-7')?.lastSeen).toBe(new Date(now - 7000).toISOString());
    // The same read without the projection goes over the bound.
    await expect(
      plain.rows(
        `SELECT NodeName, max(ReceivedAt) FROM ${TABLES.ledger} GROUP BY NodeName
          SETTINGS optimize_use_projections = 0, max_rows_to_read = ${ROWS_BOUND}, read_overflow_mode = 'throw'`,
      ),
    ).rejects.toMatchObject({ type: 'TOO_MANY_ROWS' });
  });
});
