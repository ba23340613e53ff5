import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderListing } from './folder-listing.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-listing-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FolderListing', () => {
  it('lists subfolders again only when the folder changed, and not from a listing made as it changed', async () => {
    const root = path.join(dir, 'containers');
    await mkdir(path.join(root, 'a'), { recursive: true });
    await writeFile(path.join(root, 'not-a-folder'), '');
    const at = new Date(Date.now() - 60_000);
    await utimes(root, at, at);
    const listing = new FolderListing(root);
    expect((await listing.subfolders()).sort()).toEqual(['a']);
    // A folder made: the mtime says so.
    await mkdir(path.join(root, 'b'));
    expect((await listing.subfolders()).sort()).toEqual(['a', 'b']);
    await rm(path.join(root, 'a'), { recursive: true });
    expect(await listing.subfolders()).toEqual(['b']);
    // Listed once its mtime was old: a change that leaves the mtime as it was (here set back by
    // hand; a change in the same tick of the file system's clock) is not seen, as nothing is listed.
    await utimes(root, at, at);
    expect(await listing.subfolders()).toEqual(['b']);
    await mkdir(path.join(root, 'c'));
    await utimes(root, at, at);
    expect(await listing.subfolders()).toEqual(['b']);
    // So a listing made within two seconds of the folder's mtime is not kept: the next call lists.
    const justNow = new FolderListing(root, () => at.getTime() + 1000);
    expect((await justNow.subfolders()).sort()).toEqual(['b', 'c']);
    await mkdir(path.join(root, 'd'));
    await utimes(root, at, at);
    expect((await justNow.subfolders()).sort()).toEqual(['b', 'c', 'd']);
    // Gone: none, and found again once made.
    await rm(root, { recursive: true });
    expect(await listing.subfolders()).toEqual([]);
    await mkdir(path.join(root, 'e'), { recursive: true });
    expect(await listing.subfolders()).toEqual(['e']);
  });
});
