/**
 * The README option tables are generated from the config schemas; this keeps the two from
 * drifting apart (fix a failure by pasting the output of
 * `npx edge-telemetry config options <collector|ingester>` between the markers).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeOptions } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '../../packages/collector/src/config/options.js';
import { ingesterConfigSpec } from '../../packages/ingester/src/config/load.js';
import { optionsTable } from '../../packages/cli/src/commands/config-options.js';

function tableInReadme(path: string): string {
  const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const match = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(text);
  if (!match?.[1]) throw new Error(`${path} has no table between <!-- options:start --> and <!-- options:end -->`);
  return match[1];
}

const specs = [
  { name: 'collector', options: describeOptions(collectorConfigSpec) },
  { name: 'ingester', options: describeOptions(ingesterConfigSpec) },
];

describe.each(specs)('$name options', ({ options }) => {
  it('all have a description', () => {
    expect(options.filter((o) => o.description.trim() === '').map((o) => o.option)).toEqual([]);
  });
});

describe.each(['collector', 'ingester'] as const)('%s README', (service) => {
  it('lists the options exactly as generated from the schema', () => {
    expect(tableInReadme(`packages/${service}/README.md`)).toBe(optionsTable(service));
  });
});
