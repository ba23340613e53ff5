/**
 * Version 10: the ids a template row says were merged into it (protocol LogTemplate.merged). A
 * node's miner merges templates once it learns that the word where they differed is a parameter;
 * `/templates` then shows the merged templates' earlier rows as the survivor's.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';

export const migration0010: Migration = {
  version: 10,
  name: 'template_merges',
  statements: () => [`ALTER TABLE ${TABLES.templates} ADD COLUMN IF NOT EXISTS Merged Array(String) CODEC(ZSTD(1))`],
};
