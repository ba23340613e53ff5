import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverDocker, type DockerName } from './discover.js';
import { FolderListing } from './folder-listing.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'et-discover-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const AT = new Date(Date.now() - 60_000);

/** Writes a container's config.v2.json stamped `at` (the same mtime again: a rewrite within the clock's tick). */
async function config(id: string, text: string, at = AT): Promise<void> {
  await mkdir(path.join(root, id), { recursive: true });
  const file = path.join(root, id, 'config.v2.json');
  await writeFile(file, text);
  await utimes(file, at, at);
}

describe('discoverDocker', () => {
  it('keeps the name a container had while its config.v2.json is read torn, and reads it again at the next look', async () => {
    const id = 'a'.repeat(64);
    await config(id, JSON.stringify({ Name: '/web' }));
    const names = new Map<string, DockerName>();
    const listing = new FolderListing(root);
    const [ref] = await discoverDocker(listing, names, () => true);
    expect(ref?.container).toBe('web');
    // Docker rewrites it while the container runs: a read in between must not label its lines
    // with its id (windows, templates and stored rows split over two names).
    await config(id, '{"Name":"/we', new Date(AT.getTime() + 1000));
    expect(await discoverDocker(listing, names, () => true)).toEqual([ref]);
    expect((await discoverDocker(listing, names, () => true))[0]).toBe(ref);
    // Written whole within the same tick: read at the next look even though it is not being read.
    await config(id, JSON.stringify({ Name: '/web-2' }), new Date(AT.getTime() + 1000));
    expect((await discoverDocker(listing, names, () => false)).map((r) => r.container)).toEqual(['web-2']);
  });

  it('reads a config.v2.json with no Name again only when it changes, and a torn one a few looks running whatever its mtime', async () => {
    const nameless = 'b'.repeat(64);
    const torn = 'c'.repeat(64);
    await config(nameless, JSON.stringify({ Id: nameless }));
    await config(torn, '');
    const names = new Map<string, DockerName>();
    const listing = new FolderListing(root);
    // Their logs are being read: their names are checked at every look, by mtime.
    const look = async () => (await discoverDocker(listing, names, () => true)).map((r) => r.container).sort();
    // The first look and three more read the torn one; after that, as the nameless one, only a new mtime.
    for (let i = 0; i < 4; i++) expect(await look()).toEqual(['bbbbbbbbbbbb', 'cccccccccccc']);
    await config(nameless, JSON.stringify({ Name: '/late' }));
    await config(torn, JSON.stringify({ Name: '/whole' }));
    expect(await look()).toEqual(['bbbbbbbbbbbb', 'cccccccccccc']);
    const later = new Date(AT.getTime() + 1000);
    await config(nameless, JSON.stringify({ Name: '/late' }), later);
    await config(torn, JSON.stringify({ Name: '/whole' }), later);
    expect(await look()).toEqual(['late', 'whole']);
  });
});
