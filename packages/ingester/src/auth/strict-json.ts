/**
 * JSON request bodies must be valid UTF-8. Fastify's own parser decodes leniently (invalid bytes
 * become U+FFFD and a damaged name passes as another), so bodies are read as bytes, decoded
 * strictly, and then parsed by fastify's parser with prototype-poisoning keys refused.
 */
import type { FastifyInstance } from 'fastify';
import { IngesterError } from '../errors.js';

export function installStrictJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = decoder.decode(body as Buffer);
    } catch {
      done(new IngesterError('ET_ERR_BAD_REQUEST', 'the body is not valid UTF-8'), undefined);
      return;
    }
    parse(req, text, done);
  });
}
