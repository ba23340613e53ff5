/**
 * Version 9: the ingester that runs a log pull, in its state rows. With several ingesters on a
 * shared subscription, any of them gets a pull's chunks; the owner's rows (a heartbeat while the
 * pull runs) tell the others it is alive, and when they stop, another takes the pull over
 * (pull/coordinator.ts).
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';

export const migration0009: Migration = {
  version: 9,
  name: 'pull_owner',
  statements: () => [`ALTER TABLE ${TABLES.pulls} ADD COLUMN IF NOT EXISTS Owner LowCardinality(String) DEFAULT ''`],
};
