/**
 * JSON request bodies must be valid Unicode. Fastify's own parser decodes leniently (invalid bytes
 * become U+FFFD, so a damaged name passes as another) and JSON escapes can spell lone surrogates
 * (`"\ud800"`), which no UTF-8 store or node can hold. Bodies are read as bytes, decoded strictly,
 * parsed by fastify's parser with prototype-poisoning keys refused, and every string (keys too)
 * must be well-formed; otherwise 400.
 */
import { isWellFormed } from '@edge-telemetry/protocol';
import type { FastifyInstance } from 'fastify';
import { IngesterError } from '../errors.js';

/** Iterative, so a deeply nested body cannot exhaust the stack. */
export function allStringsWellFormed(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (!isWellFormed(v)) return false;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (!isWellFormed(k)) return false;
        stack.push(x);
      }
    }
  }
  return true;
}

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
    parse(req, text, (err, value) => {
      if (err) return done(err, undefined);
      if (!allStringsWellFormed(value))
        return done(
          new IngesterError(
            'ET_ERR_BAD_REQUEST',
            'the body holds a lone surrogate (\\ud800-\\udfff): not valid Unicode',
          ),
          undefined,
        );
      done(null, value);
    });
  });
}
