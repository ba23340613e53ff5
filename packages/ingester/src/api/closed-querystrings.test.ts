import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installClosedQuerystrings } from './closed-querystrings.js';

describe('installClosedQuerystrings', () => {
  it("closes every API route's querystring, with a schema or without, and leaves other routes alone", async () => {
    const app = Fastify({ exposeHeadRoutes: false });
    installClosedQuerystrings(app);
    const seen = new Map<string, unknown>();
    // Added after, so it sees what the hook made of each route.
    app.addHook('onRoute', (r) => void seen.set(r.url, r.schema?.querystring));
    const listed = { type: 'object', properties: { from: { type: 'integer' } } };
    const open = { type: 'object', properties: {}, additionalProperties: true };
    app.get('/api/v1/listed', { schema: { querystring: listed } }, async () => ({}));
    app.get('/api/v1/none', async () => ({}));
    app.get('/api/v1/open', { schema: { querystring: open } }, async () => ({}));
    app.get('/metrics', async () => '');
    await app.ready();
    expect(seen.get('/api/v1/listed')).toEqual({ ...listed, additionalProperties: false });
    expect(listed).not.toHaveProperty('additionalProperties');
    expect(seen.get('/api/v1/none')).toEqual({ type: 'object', properties: {}, additionalProperties: false });
    // A route that opened its querystring on purpose keeps it open.
    expect(seen.get('/api/v1/open')).toBe(open);
    expect(seen.get('/metrics')).toBeUndefined();
    await app.close();
  });
});
