/**
 * The README's option table is generated from the schema; this keeps the two from drifting apart
 * (fix a failure by pasting the output of `npx tsx packages/collector/scripts/options-table.ts`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeOptions } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '../../packages/collector/src/config/options.js';
import { markdownOptionsTable } from '../../packages/collector/scripts/markdown-options-table.js';

function tableInReadme(path: string): string {
  const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const match = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(text);
  if (!match?.[1]) throw new Error(`${path} has no table between <!-- options:start --> and <!-- options:end -->`);
  return match[1];
}

describe('collector README option table', () => {
  const options = describeOptions(collectorConfigSpec);

  it('equals the table generated from the config schema', () => {
    expect(tableInReadme('packages/collector/README.md')).toBe(markdownOptionsTable(options));
  });

  it('documents every option', () => {
    expect(options.filter((o) => o.description.trim() === '').map((o) => o.option)).toEqual([]);
  });
});
