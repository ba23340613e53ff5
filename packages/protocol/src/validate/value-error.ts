/**
 * TypeBox's messages, as a reader of a refusal can act on them: for a union of literals (a level,
 * a mode) TypeBox says only "Expected union value", so the values it takes are listed instead.
 */
import type { ValueError } from '@sinclair/typebox/value';

export function valueErrorMessage(e: Pick<ValueError, 'message' | 'schema'>): string {
  const choices = (e.schema as { anyOf?: Array<{ const?: unknown }> }).anyOf;
  if (choices === undefined || choices.length === 0 || !choices.every((c) => c.const !== undefined)) return e.message;
  return `must be one of ${choices.map((c) => String(c.const)).join(', ')}`;
}
