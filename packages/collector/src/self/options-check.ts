import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MetricsError } from './errors.js';

/** Fills defaults into a partial options object and validates it, naming the first wrong field. */
export function resolveMetricsOptions<S extends TSchema>(schema: S, partial: unknown): Static<S> {
  const value = Value.Default(schema, Value.Clone(partial ?? {}));
  const first = Value.Errors(schema, value).First();
  if (first) throw new MetricsError('ET_ERR_METRICS_OPTIONS', `${first.path || '/'}: ${first.message}`);
  return value as Static<S>;
}
