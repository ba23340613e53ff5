import { existsSync } from 'node:fs';

/**
 * Where the Loghub-2k corpus lives and whether it is there. Tests that read it skip when it is
 * absent, except in CI, where a missing corpus would turn those suites into silent skips: CI set
 * at all (not only `CI=true`) throws, the same rule as haveMosquitto.
 */
export function loghubCorpus(): { root: string; present: boolean } {
  const root = new URL('../../../shared/corpora/loghub2k', import.meta.url).pathname;
  const present = existsSync(root);
  if (!present && process.env.CI) throw new Error(`Loghub corpus missing at ${root} (required in CI)`);
  return { root, present };
}
