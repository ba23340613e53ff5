import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LogError } from './errors.js';

/** Fills defaults into a partial options object and validates it, naming the first wrong field. */
export function resolveOptions<S extends TSchema>(schema: S, partial: unknown): Static<S> {
  const value = Value.Default(schema, Value.Clone(partial ?? {}));
  const first = Value.Errors(schema, value).First();
  if (first) throw new LogError('ET_ERR_LOG_OPTIONS', `${first.path || '/'}: ${first.message}`);
  return value as Static<S>;
}
