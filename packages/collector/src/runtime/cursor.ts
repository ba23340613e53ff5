/**
 * The cursor: where a restart resumes reading without losing or repeating a line. It travels in
 * the outbox record that ends each seal (Outbox.appendGroup), so it is on disk exactly when the
 * windows of every line before it are:
 *
 * - `files`: per log file path, the inode and offset of the first line not yet in a sealed window
 *   (or where reading stands, when every line read is sealed);
 * - `horizons`: per container, the end of its last sealed window, so that lines read again after a
 *   restart can never go into a window that was already sent.
 *
 * JSON, small (a path and two numbers per file): it is kept on the node and never sent.
 */
export interface Cursor {
  files: Record<string, [inode: number, offset: number]>;
  horizons: Record<string, number>;
}

export function encodeCursor(c: Cursor): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...c }));
}

/** The cursor in `bytes`, or undefined when there is none or it is not one (a start without it reads as the first). */
export function decodeCursor(bytes: Buffer | undefined): Cursor | undefined {
  if (bytes === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const o = v as Partial<Cursor> & { v?: unknown };
  if (o === null || typeof o !== 'object' || o.v !== 1) return undefined;
  const files: Cursor['files'] = {};
  for (const [p, pos] of Object.entries(o.files ?? {}))
    if (Array.isArray(pos) && Number.isSafeInteger(pos[0]) && Number.isSafeInteger(pos[1]) && pos[1] >= 0)
      files[p] = [pos[0], pos[1]];
  const horizons: Cursor['horizons'] = {};
  for (const [c, h] of Object.entries(o.horizons ?? {}))
    if (typeof h === 'number' && Number.isFinite(h)) horizons[c] = h;
  return { files, horizons };
}
