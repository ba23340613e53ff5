/**
 * `edge-telemetry config options <collector|ingester>`: every option of a service as a Markdown
 * table (option, environment variable, type, default, description), generated from the same
 * schema that validates the config at start-up; the package READMEs embed this output between
 * `<!-- options:start -->` and `<!-- options:end -->`, and test/docs keeps them in step.
 */
import { collectorConfigSpec } from '@edge-telemetry/collector';
import { ingesterConfigSpec } from '@edge-telemetry/ingester';
import { describeOptions, type OptionDoc } from '@edge-telemetry/protocol';
import type { CommandIo } from './index.js';

/** `|` would end a table cell, even inside a code span. */
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function defaultCell(value: unknown): string {
  if (value === undefined) return '(none)';
  // Strings as written in an environment variable; everything else as written in the JSON file.
  const text = typeof value === 'string' && value !== '' ? value : JSON.stringify(value);
  return `\`${cell(text)}\``;
}

export function markdownOptionsTable(options: readonly OptionDoc[]): string {
  const rows = options.map(
    (o) => `| \`${o.option}\` | \`${o.env}\` | ${o.type} | ${defaultCell(o.default)} | ${cell(o.description)} |`,
  );
  return [
    '| option | environment variable | type | default | description |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function optionsTable(service: 'collector' | 'ingester'): string {
  return markdownOptionsTable(
    service === 'collector' ? describeOptions(collectorConfigSpec) : describeOptions(ingesterConfigSpec),
  );
}

export async function runConfigOptions(argv: string[], io: CommandIo): Promise<number> {
  const service = argv[0];
  if (service !== 'collector' && service !== 'ingester') {
    io.stderr.write('usage: edge-telemetry config options <collector|ingester>\n');
    return 2;
  }
  io.stdout.write(optionsTable(service) + '\n');
  return 0;
}
