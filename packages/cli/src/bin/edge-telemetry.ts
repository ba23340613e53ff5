#!/usr/bin/env node
/**
 * `edge-telemetry <command>`: the engineer's command line. Each command is a module exporting
 * run(argv, io) -> exit code, loaded only when called so that `logs templates` does not pay for
 * the embedded ClickHouse engine that `start` loads.
 */
// First: before anything loads mqtt or aedes (src/mqtt-prefixes.ts).
import '../mqtt-prefixes.js';
import { ignoreClosedPipes } from '@edge-telemetry/protocol/net';
import { commandHelp, commands, usage } from '../commands/index.js';

// `edge-telemetry config options collector | head -1`: the rest of the output is lost, the command
// ends as it would have (a stack trace and exit 1 before). The commands that stream (`logs
// templates`, `logs pull`) still see it on their own writes, and any write after it (commands/write-out.ts), and stop.
ignoreClosedPipes([process.stdout, process.stderr]);

const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr };

const match = commands.find((c) => c.words.every((w, i) => argv[i] === w));
if (!match) {
  process.stderr.write(usage());
  process.exitCode = argv.length === 0 || argv[0] === '--help' || argv[0] === 'help' ? 0 : 2;
} else if (!match.ownHelp && argv.slice(match.words.length).some((a) => a === '--help' || a === '-h')) {
  // Before loading the command: --help must not start anything (start would run the pipeline).
  process.stdout.write(commandHelp(match));
} else {
  const run = await match.load();
  try {
    process.exitCode = await run(argv.slice(match.words.length), io);
  } catch (err) {
    // An option the command does not know, or one without its value, in a command that leaves
    // node:util's parseArgs errors to here (start did, with a stack trace): usage, exit 2.
    if (!String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw err;
    process.stderr.write(`edge-telemetry ${match.words.join(' ')}: ${(err as Error).message}\n${commandHelp(match)}`);
    process.exitCode = 2;
  }
}
