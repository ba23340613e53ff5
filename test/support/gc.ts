/**
 * Full garbage collections on demand inside a test: `gc` is exposed at run time (the flag can be
 * set from inside a running V8; the function is taken from a fresh context), so no test needs
 * node's --expose-gc. For tests that show a structure lets go of what it no longer needs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * How many of `refs` still point to a live object after full collections. A WeakRef made in the
 * current turn keeps its target until the turn ends, hence the wait before collecting.
 */
export async function stillReachable(refs: ReadonlyArray<WeakRef<object>>): Promise<number> {
  const gc = exposeGc();
  await new Promise((r) => setTimeout(r, 10));
  gc();
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}
