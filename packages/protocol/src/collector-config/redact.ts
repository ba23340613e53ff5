import { Type, type Static } from '@sinclair/typebox';

export const RedactPatternSchema = Type.Object({
  /** Counted under this kind, and written as `[REDACTED:kind]`. */
  kind: Type.String({ minLength: 1, pattern: '^[a-z0-9_]+$' }),
  /** JavaScript regular expression source; the whole match is replaced. */
  pattern: Type.String({ minLength: 1 }),
  /** Regular expression flags besides `g` (e.g. `i`). */
  flags: Type.String({ default: '' }),
});

export const RedactOptionsSchema = Type.Object({
  disable: Type.Array(Type.String(), {
    default: [],
    description: 'Built-in redaction kinds to turn off (e.g. `email` where addresses are not personal data).',
  }),
  patterns: Type.Array(RedactPatternSchema, {
    default: [],
    description:
      'Extra patterns as [{"kind", "pattern", "flags"}], applied after the built-in ones; a match is replaced by `[REDACTED:kind]`.',
  }),
});
export type RedactOptions = Static<typeof RedactOptionsSchema>;
