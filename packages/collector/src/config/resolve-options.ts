import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from '@edge-telemetry/protocol';
import { CollectorError } from '../errors.js';

/** Fills defaults into a stage's partial options and validates them, naming the first wrong field (ET_ERR_OPTIONS). */
export function resolveOptions<S extends TSchema>(schema: S, partial: unknown): Static<S> {
  const value = Value.Default(schema, Value.Clone(partial ?? {}));
  const first = Value.Errors(schema, value).First();
  if (first) throw new CollectorError('ET_ERR_OPTIONS', `${first.path || '/'}: ${valueErrorMessage(first)}`);
  return value as Static<S>;
}
