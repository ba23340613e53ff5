/**
 * Renders describeOptions() output as the README's Markdown option table. Kept apart from the
 * script that prints it so that the README test renders the table exactly as the script does.
 */
import type { OptionDoc } from '@edge-telemetry/protocol';

/** `|` would end a table cell, even inside a code span. */
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function defaultCell(value: unknown): string {
  if (value === undefined) return '(none)';
  // Strings as written in an environment variable; everything else as written in the JSON file.
  const text = typeof value === 'string' && value !== '' ? value : JSON.stringify(value);
  return `\`${cell(text)}\``;
}

export function markdownOptionsTable(options: readonly OptionDoc[]): string {
  const rows = options.map((o) => `| \`${o.option}\` | \`${o.env}\` | ${o.type} | ${defaultCell(o.default)} | ${cell(o.description)} |`);
  return ['| option | environment variable | type | default | description |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
