/**
 * The READMEs describe the tree: every folder or source file a package README names in backticks
 * (`sources/`, `src/pull/`, `batch/row-order.ts`) must exist, and so must the folders the root
 * README's package table lists for each package. A spot check, not a proof: it catches a README
 * left behind when a folder is renamed, moved or removed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const packages = readdirSync(path.join(root, 'packages')).filter((p) =>
  existsSync(path.join(root, 'packages', p, 'README.md')),
);

/** Backticked tokens that name a folder (`x/`) or a file of the tree (`x/y.ts`, `row-order.ts`). */
function pathTokens(markdown: string): string[] {
  const tokens = [...markdown.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] as string);
  return [
    ...new Set(
      tokens.filter(
        (t) =>
          /^[A-Za-z][\w.-]*(\/[\w.-]+)*(\/|\.(ts|js|mjs|json|md|html|css|sh|yml))$/.test(t) &&
          // MIME types and topic or URL shapes are not paths; test-artifacts/ is what the tests write
          // (git-ignored), so on a fresh clone it exists only after the tests that fill it.
          !/^(text|application|et|test-artifacts)\//.test(t),
      ),
    ),
  ];
}

/** Every folder and file name under dir (dist/ and node_modules/ left out). */
function namesUnder(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist') continue;
      names.add(e.isDirectory() ? `${e.name}/` : e.name);
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return names;
}

/**
 * Where a token may be: under the package, its src/, the repository root or another package (a
 * README may point at a sibling's docs); a bare name (`row-order.ts`, `host/`) anywhere in the
 * package's src/, as the folder tables name subfolders inside their parent's row.
 */
function missing(tokens: readonly string[], pkgDir: string): string[] {
  const src = path.join(pkgDir, 'src');
  const nested = existsSync(src) ? namesUnder(src) : new Set<string>();
  const bases = [pkgDir, src, root, ...packages.map((p) => path.join(root, 'packages', p))];
  return tokens.filter((t) => {
    if (bases.some((b) => existsSync(path.join(b, t)))) return false;
    return t.slice(0, -1).includes('/') || !nested.has(t);
  });
}

describe.each(packages)('packages/%s/README.md', (pkg) => {
  it('names only folders and files that exist', () => {
    const pkgDir = path.join(root, 'packages', pkg);
    const tokens = pathTokens(readFileSync(path.join(pkgDir, 'README.md'), 'utf8'));
    expect(tokens.length).toBeGreaterThan(0);
    expect(missing(tokens, pkgDir)).toEqual([]);
  });
});

describe('README.md package table', () => {
  const rows = readFileSync(path.join(root, 'README.md'), 'utf8')
    .split('\n')
    .map((line) => /^\| \[`packages\/([\w-]+)`\]/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pkg: m[1] as string, tokens: pathTokens(m.input.slice(m[0].length)) }));

  it('has a row for every package', () => {
    expect(rows.map((r) => r.pkg).sort()).toEqual([...packages].sort());
  });

  it.each(rows.map((r) => [r.pkg, r.tokens] as const))('%s: the folders it lists exist in src/', (pkg, tokens) => {
    const src = path.join(root, 'packages', pkg, 'src');
    expect(tokens.filter((t) => !existsSync(path.join(src, t)))).toEqual([]);
  });
});
