import { Type, type Static } from '@sinclair/typebox';
import { LevelNameSchema } from '../parse/options.js';

export const FilterOptionsSchema = Type.Object({
  /** Lines below this level are not shipped (they still reach the local full-log store). */
  minLevel: LevelNameSchema('info'),
  /** When not empty, only lines matching at least one of these regular expressions are shipped. */
  include: Type.Array(Type.String(), { default: [] }),
  /** Lines matching any of these regular expressions are not shipped. */
  exclude: Type.Array(Type.String(), { default: [] }),
});
export type FilterOptions = Static<typeof FilterOptionsSchema>;
