/** The UI plugin on a bare fastify instance: pages, redirects, headers, and nothing outside the folder. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uiPlugin, UI_CSP } from './plugin.js';
import { contentType } from './assets.js';
import { resolveUiOptions } from './options.js';
import { parsePageHead } from './page.js';

describe('web UI plugin', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-ui-'));
    await mkdir(path.join(dir, 'js'));
    await mkdir(path.join(dir, 'pages'));
    await writeFile(
      path.join(dir, 'layout.html'),
      '<!doctype html><title><!--title--></title><script type="module" src="js/<!--script-->.js"></script><nav><a data-nav="fleet">F</a><a data-nav="pull">P</a></nav><!--main-->',
    );
    await writeFile(
      path.join(dir, 'pages', 'index.html'),
      '<!-- title: Fleet & co; script: fleet; nav: fleet -->\n<main>$& nodes</main>',
    );
    await writeFile(path.join(dir, 'js', 'a.js'), 'export const a = 1;');
    await writeFile(path.join(dir, 'notes.txt'), 'not served');
    await writeFile(path.join(os.tmpdir(), 'et-ui-secret.html'), 'outside');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(path.join(os.tmpdir(), 'et-ui-secret.html'), { force: true });
  });

  const app = async (opts = {}) => {
    const a = Fastify();
    await a.register(uiPlugin, { assetsDir: dir, ...opts });
    return a;
  };

  it('redirects / and the bare prefix to the fleet page', async () => {
    const a = await app();
    for (const url of ['/', '/ui']) {
      const res = await a.inject({ url });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('/ui/');
    }
  });

  it('serves pages and scripts with their type and a same-origin-only CSP', async () => {
    const a = await app();
    const page = await a.inject({ url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(UI_CSP);
    // The page is the layout with its title (escaped), script, current link and <main> filled in.
    expect(page.body).toBe(
      '<!doctype html><title>Fleet &amp; co</title><script type="module" src="js/fleet.js"></script><nav><a data-nav="fleet" aria-current="page">F</a><a data-nav="pull">P</a></nav><main>$& nodes</main>',
    );
    for (const hidden of ['/ui/layout.html', '/ui/pages/index.html'])
      expect((await a.inject({ url: hidden })).statusCode, hidden).toBe(404);
    const js = await a.inject({ url: '/ui/js/a.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('export const a = 1;');
  });

  it('serves nothing outside the folder or of an unknown kind', async () => {
    const a = await app();
    for (const url of [
      '/ui/../et-ui-secret.html',
      '/ui/%2e%2e/et-ui-secret.html',
      '/ui/notes.txt',
      '/ui/js/missing.js',
    ]) {
      const res = await a.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('outside');
    }
  });

  it('marks its routes public for the token hook', async () => {
    const a = Fastify();
    const seen: { url: string; public?: boolean }[] = [];
    a.addHook('onRoute', (r) => {
      if (r.method === 'GET') seen.push({ url: r.url, public: (r.config as { public?: boolean } | undefined)?.public });
    });
    await a.register(uiPlugin, { assetsDir: dir });
    expect(seen.map((r) => r.url).sort()).toEqual(['/', '/ui', '/ui/*']);
    expect(seen.every((r) => r.public === true)).toBe(true);
  });

  it('keeps its routes out of the OpenAPI document', async () => {
    const a = Fastify();
    await a.register(swagger, { openapi: { info: { title: 't', version: '1' } } });
    await a.register(uiPlugin, { assetsDir: dir });
    await a.ready();
    expect(Object.keys((a.swagger() as { paths?: Record<string, unknown> }).paths ?? {})).toEqual([]);
  });

  it('starts without the UI when the assets folder is missing', async () => {
    const a = Fastify();
    await a.register(uiPlugin, { assetsDir: path.join(dir, 'nope') });
    expect((await a.inject({ url: '/ui/' })).statusCode).toBe(404);
  });

  it('serves under another base path and rejects a malformed one', async () => {
    const a = await app({ basePath: '/console' });
    expect((await a.inject({ url: '/' })).headers.location).toBe('/console/');
    expect((await a.inject({ url: '/console/' })).statusCode).toBe(200);
    expect(() => resolveUiOptions({ basePath: 'ui/' })).toThrow(/basePath/);
  });

  it('refuses a page without its head comment, naming the file', () => {
    expect(() => parsePageHead('bad.html', '<main></main>')).toThrow(/bad.html/);
  });

  it('maps file kinds to content types', () => {
    expect(contentType('x.CSS')).toBe('text/css; charset=utf-8');
    expect(contentType('x.ts')).toBeUndefined();
  });
});
