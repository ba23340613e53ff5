/**
 * Version 14: each node's last batch time, kept per part by an aggregate projection of the ledger,
 * so that `/api/v1/nodes` reads about a row per node and part instead of every batch of the
 * retention (`max(ReceivedAt)` by node: 671 ms at 1,000 nodes x 30 days on the embedded engine,
 * growing with the ledger, while the writer may wait behind it). ClickHouse picks the projection
 * for that query by itself; rows stored before this version get it in the background
 * (MATERIALIZE is a mutation, not waited for at start-up), and parts without it are read as before.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';

export const migration0014: Migration = {
  version: 14,
  name: 'ledger_last_seen',
  statements: () => [
    `ALTER TABLE ${TABLES.ledger} ADD PROJECTION IF NOT EXISTS node_last_seen (SELECT NodeName, max(ReceivedAt) GROUP BY NodeName)`,
    `ALTER TABLE ${TABLES.ledger} MATERIALIZE PROJECTION node_last_seen`,
  ],
};
