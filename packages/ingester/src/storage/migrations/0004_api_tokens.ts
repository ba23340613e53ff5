/**
 * Version 4: API bearer tokens, one row per change (created, revoked; the latest wins on
 * UpdatedAt). Only a SHA-256 of each secret is kept (see auth/secret.ts). Revoked rows stay: the
 * audit trail names token ids and they must still resolve to a name. The audit of admin actions
 * shares the log-pull audit table of version 3.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';

export const migration0004: Migration = {
  version: 4,
  name: 'api_tokens',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.tokens} (
      TokenId String,
      Name String,
      Role LowCardinality(String),
      TokenHash FixedString(64),
      CreatedAt DateTime64(3),
      CreatedBy String,
      ExpiresAt Nullable(DateTime64(3)),
      RevokedAt Nullable(DateTime64(3)),
      RevokedBy String,
      UpdatedAt DateTime64(3)
    ) ENGINE = ReplacingMergeTree(UpdatedAt)
    ORDER BY TokenId`,
  ],
};
