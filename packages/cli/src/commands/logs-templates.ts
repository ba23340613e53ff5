/**
 * `edge-telemetry logs templates <file> [--format raw|json-file|cri]`: mines the templates of a
 * plain log file with the collector's own miner and configuration, and prints one JSON object
 * per input line, in order, empty lines included: {"line": n, "templateId": "...", "template": "..."}.
 * Each line's header (time, level, pid, host, tag, thread: whatever kinds `messageStart` knows)
 * is cut before mining, as the collector's pipeline does: the template is the message's.
 * Lines are printed after the whole file was mined, with each line's final group and template
 * (the miner merges and generalises clusters as it learns), as a batch parser would report them.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import {
  cutMessage,
  messageStart,
  TemplateMiner,
  templateMinerOptions,
  type MessageFormat,
} from '@edge-telemetry/collector';
import { OUTPUT_CLOSED, writeOut as write } from './write-out.js';

const FORMATS: readonly MessageFormat[] = ['raw', 'json-file', 'cri'];
const USAGE = 'usage: edge-telemetry logs templates <file> [--format raw|json-file|cri]\n';
const CHUNK_BYTES = 64 * 1024;

/** The options of `logs templates` (the top-level usage lists each). */
export const LOGS_TEMPLATES_OPTIONS = { format: { type: 'string', default: 'raw' } } as const;

export async function runLogsTemplates(argv: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  let file: string;
  let format: MessageFormat;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: LOGS_TEMPLATES_OPTIONS,
      allowPositionals: true,
    });
    format = values.format as MessageFormat;
    if (positionals.length !== 1) throw new Error('expected one file');
    if (!FORMATS.includes(format)) throw new Error(`unknown format ${String(values.format)}`);
    file = positionals[0] as string;
  } catch (err) {
    io.stderr.write(`ET_ERR_USAGE: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const miner = new TemplateMiner(templateMinerOptions());
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    io.stderr.write(`ET_ERR_FILE: cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const ids: string[] = [];
  const seen = new Map<string, string>();
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const text = cutMessage(format, line);
    const m = miner.match(text.slice(messageStart(text)));
    ids.push(m.id);
    seen.set(m.id, m.template);
  }
  // A reader that goes away (`| head`) ends the output, as for any Unix filter: not a crash. The
  // bin's closed-pipe listener takes the EPIPE; the write after it rejects (writeOut).
  let out = '';
  try {
    for (let i = 0; i < ids.length; i++) {
      const id = miner.resolve(ids[i] as string);
      // An evicted cluster keeps the id and template the line got when it was mined.
      const template = miner.templateOf(id) ?? seen.get(id) ?? '';
      out += `${JSON.stringify({ line: i + 1, templateId: id, template })}\n`;
      if (out.length >= CHUNK_BYTES) {
        await write(io.stdout, out);
        out = '';
      }
    }
    if (out !== '') await write(io.stdout, out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== OUTPUT_CLOSED) throw err;
  }
  return 0;
}
