/**
 * A full data volume, as the store and the outbox see it: ENOSPC (or a quota's EDQUOT) from a
 * write, or a write that wrote less than it was given (what a filesystem at its limit does
 * before it says ENOSPC).
 */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error a short write stands for. */
export function shortWriteError(written: number, wanted: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`short write: ${written} of ${wanted} bytes (no space left)`), { code: 'ENOSPC' });
}
