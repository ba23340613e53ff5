/**
 * The root README's quick start names the Debian packages the tests need; `.ci/run` installs them
 * on a fresh machine. The two lists must be the same, or someone following the README gets tests
 * that throw for a missing tool (prometheus-node-exporter was missing once).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The package names of the first `apt-get install` command in text (its options left out). */
function aptPackages(text: string): string[] {
  const line = /apt-get install ([^`\n>|]+)/.exec(text)?.[1];
  if (line === undefined) throw new Error('no apt-get install line');
  return line
    .trim()
    .split(/\s+/)
    .filter((w) => !w.startsWith('-'))
    .sort();
}

it('the README installs the same system packages as .ci/run', () => {
  const ci = aptPackages(readFileSync(`${root}.ci/run`, 'utf8'));
  expect(ci).toContain('prometheus-node-exporter');
  expect(aptPackages(readFileSync(`${root}README.md`, 'utf8'))).toEqual(ci);
});
