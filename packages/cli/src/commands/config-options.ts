/**
 * `edge-telemetry config options <collector|ingester>`: every option of a service as a Markdown
 * table (option, environment variable, type, default, description), generated from the same
 * schema that validates the config at start-up; the package READMEs embed this output and a test
 * keeps them in step.
 */
import { collectorConfigSpec } from '@edge-telemetry/collector';
import { ingesterConfigSpec } from '@edge-telemetry/ingester';
import { describeOptions, type OptionDoc } from '@edge-telemetry/protocol';
import type { CommandIo } from './index.js';

export function optionsTable(service: 'collector' | 'ingester'): string {
  const docs: OptionDoc[] = service === 'collector' ? describeOptions(collectorConfigSpec) : describeOptions(ingesterConfigSpec);
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| option | environment variable | type | default | description |',
    '| --- | --- | --- | --- | --- |',
    ...docs.map((o) => `| \`${o.option}\` | \`${o.env}\` | ${cell(o.type)} | ${o.default === undefined ? '' : `\`${cell(JSON.stringify(o.default))}\``} | ${cell(o.description)} |`),
  ].join('\n');
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
