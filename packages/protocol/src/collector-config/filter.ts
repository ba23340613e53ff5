import { Type, type Static } from '@sinclair/typebox';
import { LevelNameSchema } from './parse.js';

export const FilterOptionsSchema = Type.Object({
  minLevel: LevelNameSchema({
    default: 'info',
    description: 'Lines below this level are not shipped (they still reach the local full-log store).',
  }),
  include: Type.Array(Type.String(), {
    default: [],
    description: 'Regular expressions; when not empty, only lines matching at least one of them are shipped.',
  }),
  exclude: Type.Array(Type.String(), {
    default: [],
    description: 'Regular expressions; lines matching any of them are not shipped.',
  }),
});
export type FilterOptions = Static<typeof FilterOptionsSchema>;
