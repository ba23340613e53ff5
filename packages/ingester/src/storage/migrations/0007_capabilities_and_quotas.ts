/**
 * Version 7 (issue 16): a node's stated capabilities in its status rows (the birth message's
 * `capabilities` as JSON, '' when not said: the last will, older collectors), and dead letters
 * that keep a capped prefix of the payload with the whole payload's sha256 (PayloadBytes already
 * holds its size), never the whole payload.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';

export const migration0007: Migration = {
  version: 7,
  name: 'capabilities_and_dead_letter_digests',
  statements: () => [
    `ALTER TABLE ${TABLES.status} ADD COLUMN IF NOT EXISTS Capabilities String DEFAULT '' CODEC(ZSTD(1))`,
    `ALTER TABLE ${TABLES.deadLetters} ADD COLUMN IF NOT EXISTS PayloadSha256 String DEFAULT ''`,
  ],
};
