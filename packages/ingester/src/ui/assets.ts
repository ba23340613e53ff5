/**
 * The UI's files, read once into memory at start: a handful of small files, and a fixed map of
 * names means a request path can never reach outside the folder. Files in pages/ are composed
 * with layout.html and served at the top level (pages/node.html -> node.html).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { composePage } from './page.js';

export interface Asset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The content type for a file name; undefined for kinds the UI does not serve. */
export function contentType(name: string): string | undefined {
  return TYPES[path.extname(name).toLowerCase()];
}

/** Every servable file under `dir`, keyed by its path relative to `dir` with forward slashes. */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const type = contentType(e.name);
    if (!type) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, full).split(path.sep).join('/'), { body: await readFile(full), type });
  }
  return composePages(out);
}

/** Replaces layout.html and pages/*.html by the composed pages. */
export function composePages(files: Map<string, Asset>): Map<string, Asset> {
  const layout = files.get('layout.html');
  if (!layout) return files;
  const out = new Map<string, Asset>();
  for (const [name, asset] of files) {
    if (name === 'layout.html') continue;
    if (name.startsWith('pages/') && name.endsWith('.html')) {
      const page = name.slice('pages/'.length);
      out.set(page, {
        type: asset.type,
        body: Buffer.from(composePage(layout.body.toString('utf8'), page, asset.body.toString('utf8'))),
      });
    } else out.set(name, asset);
  }
  return out;
}
