/**
 * Every API route refuses a querystring parameter it does not take (400 naming it and the ones it
 * takes): an open querystring ignored `?since=1h` on a node's logs, and the caller believed the
 * answer filtered. Closed here, on the root app, rather than in each route's schema, so a route
 * added later is closed too; routes outside /api/ (probes, /metrics, the UI's pages and /docs)
 * are left as they are, since scrapers and browsers add parameters of their own.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

type Schema = Record<string, unknown>;

/** The route's querystring schema, closed; one without a schema takes no parameter. */
export function closedQuerystring(schema: unknown): Schema {
  const s = (schema ?? { type: 'object', properties: {} }) as Schema;
  return s.additionalProperties === undefined ? { ...s, additionalProperties: false } : s;
}

/** Call on the root app, before the route plugins load (hooks added later would miss routes). */
export function installClosedQuerystrings(app: FastifyInstance): void {
  app.addHook('onRoute', (r: RouteOptions) => {
    if (!r.url.startsWith('/api/')) return;
    r.schema = { ...r.schema, querystring: closedQuerystring(r.schema?.querystring) };
  });
}
