import { migration0001 } from './0001_initial.js';
import { migration0002 } from './0002_hourly_rollup.js';
import { migration0003 } from './0003_log_pulls.js';
import { migration0004 } from './0004_api_tokens.js';
import { migration0005 } from './0005_batch_references.js';
import { migration0006 } from './0006_passthrough_rollup.js';
import { migration0007 } from './0007_capabilities_and_quotas.js';
import { migration0008 } from './0008_batch_claims.js';
import { migration0009 } from './0009_pull_owner.js';
import { migration0010 } from './0010_template_merges.js';
import { migration0012 } from './0012_fleet_config.js';
import { migration0011 } from './0011_attributes_and_spans.js';
import { migration0013 } from './0013_config_rollouts.js';
import { migration0014 } from './0014_ledger_last_seen.js';
import type { Migration } from './types.js';

/** Every schema version in order; append, never edit an applied one. */
export const MIGRATIONS: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
  migration0008,
  migration0009,
  migration0010,
  migration0011,
  migration0012,
  migration0013,
  migration0014,
];
export type { Migration, MigrationContext } from './types.js';
