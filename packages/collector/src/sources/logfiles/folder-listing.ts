import { readdir, stat } from 'node:fs/promises';

/**
 * A listing is kept only when the folder's mtime was at least this much (ms) older than the
 * listing: a change within the same tick of the file system's clock leaves the mtime as it was
 * (a few ms on ext4, a second on some file systems).
 */
const RACY_MS = 2000;

/** The names of the folders in `dir`, or what `failed` makes of the error when it cannot be listed. */
export async function subfoldersOf<T>(dir: string, failed: (err: NodeJS.ErrnoException) => T): Promise<string[] | T> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (err) {
    return failed(err as NodeJS.ErrnoException);
  }
}

/** For subfoldersOf: a folder that does not exist has none; any other failure is thrown. */
export function noneIfMissing(err: NodeJS.ErrnoException): string[] {
  if (err.code === 'ENOENT') return [];
  throw err;
}

/**
 * The subfolders of one folder, listed again only when the folder changed, as its inode and mtime
 * say (making, removing or renaming an entry changes its mtime): Docker's container folder was
 * listed at every poll, and for 3,000 exited containers that was ~0.5 MB of entries and names a
 * second, which kept V8 collecting while nothing was written (issue 15).
 */
export class FolderListing {
  private last: { ino: number; mtimeMs: number; names: string[] } | undefined;

  /** @param wallClock The time file systems stamp changes with (not a test's clock). */
  constructor(
    readonly dir: string,
    private readonly wallClock: () => number = Date.now,
  ) {}

  async subfolders(): Promise<string[]> {
    const st = await stat(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const last = this.last;
    if (st !== undefined && last !== undefined && last.ino === st.ino && last.mtimeMs === st.mtimeMs) return last.names;
    const listedAt = this.wallClock();
    const names = await subfoldersOf(this.dir, noneIfMissing);
    this.last =
      st !== undefined && st.mtimeMs < listedAt - RACY_MS ? { ino: st.ino, mtimeMs: st.mtimeMs, names } : undefined;
    return names;
  }
}
