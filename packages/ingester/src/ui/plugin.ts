/**
 * Serves the web UI: static pages that call the API v1 from the browser with the user's bearer
 * token. The pages hold no data, so their routes are marked `config.public` for the token hook;
 * a strict Content-Security-Policy keeps every request on this origin.
 */
import type { FastifyInstance } from 'fastify';
import { loadAssets } from './assets.js';
import { resolveUiOptions, type UiOptions } from './options.js';

/** Only this origin: scripts, styles and fetches; downloads are blob: URLs the page makes itself. */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves no data: a token check skips it (the pages must load before a token is entered). */
    public?: boolean;
  }
}

export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export async function uiPlugin(app: FastifyInstance, input: Partial<UiOptions>): Promise<void> {
  const opts = resolveUiOptions(input);
  let assets: Awaited<ReturnType<typeof loadAssets>>;
  try {
    assets = await loadAssets(opts.assetsDir);
  } catch (err) {
    // An image built without the assets still ingests; the missing UI is reported, not fatal.
    // A malformed page is a packaging bug and stops the start.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    app.log.warn({ err, assetsDir: opts.assetsDir }, 'web UI assets not found; the UI is not served');
    return;
  }
  const routeOpts = { schema: { hide: true }, config: { public: true } };
  const home = `${opts.basePath}/`;
  app.get('/', routeOpts, async (_req, reply) => reply.redirect(home));
  app.get(opts.basePath, routeOpts, async (_req, reply) => reply.redirect(home));
  app.get<{ Params: { '*': string } }>(`${opts.basePath}/*`, routeOpts, async (req, reply) => {
    const name = req.params['*'] === '' ? 'index.html' : req.params['*'];
    const asset = assets.get(name);
    if (!asset)
      return reply.status(404).send({ code: 'ET_ERR_NOT_FOUND', message: `no UI file ${name}`, statusCode: 404 });
    return (
      reply
        .header('content-security-policy', UI_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        // Revalidate every time: the files are tiny and an upgrade must not leave stale scripts behind.
        .header('cache-control', 'no-cache')
        .type(asset.type)
        .send(asset.body)
    );
  });
}
