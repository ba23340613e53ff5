import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const RedactPatternSchema = Type.Object({
  /** Counted under this kind, and written as `[REDACTED:kind]`. */
  kind: Type.String({ minLength: 1, pattern: '^[a-z0-9_]+$' }),
  /** JavaScript regular expression source; the whole match is replaced. */
  pattern: Type.String({ minLength: 1 }),
  /** Regular expression flags besides `g` (e.g. `i`). */
  flags: Type.String({ default: '' }),
});

export const RedactOptionsSchema = Type.Object({
  /** Built-in kinds to turn off (e.g. `email` where addresses are not personal data). */
  disable: Type.Array(Type.String(), { default: [] }),
  /** Extra patterns, applied after the built-in ones. */
  patterns: Type.Array(RedactPatternSchema, { default: [] }),
});
export type RedactOptions = Static<typeof RedactOptionsSchema>;

export function redactOptions(partial: Partial<RedactOptions> = {}): RedactOptions {
  return resolveOptions(RedactOptionsSchema, partial);
}
