/** Prints the collector's option table for README.md: `npx tsx packages/collector/scripts/options-table.ts`. */
import { describeOptions } from '@edge-telemetry/protocol';
import { collectorConfigSpec } from '../src/config/options.js';
import { markdownOptionsTable } from './markdown-options-table.js';

process.stdout.write(`${markdownOptionsTable(describeOptions(collectorConfigSpec))}\n`);
