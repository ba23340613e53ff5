/**
 * `edge-telemetry simulate --nodes N --broker URL [--duration 10m]`: N real collectors (each its
 * own node id, outbox and broker session) spread over worker threads, fed by the demo sources
 * instead of this machine's containers, with link cuts on request. Used by `start --simulate N`
 * and to load an ingester with a fleet. See SIMULATE_HELP for the options.
 */
import { loadDemoSeries, readCorpusLines } from '@edge-telemetry/collector';
import { readCredentials } from '../simulate/credentials.js';
import { startFleet } from '../simulate/fleet.js';
import { nodeId } from '../simulate/node-config.js';
import { fleetTotals, formatProgress, formatSummary, formatUnacked, type ProcessFigures } from '../simulate/figures.js';
import { parseSimulateArgs, SIMULATE_HELP } from '../simulate/options.js';
import type { LoopDelay } from '../simulate/fleet-shard.js';
import type { CommandIo } from './index.js';

export async function runSimulate(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(SIMULATE_HELP);
    return 0;
  }
  let parsed: ReturnType<typeof parseSimulateArgs>;
  try {
    parsed = parseSimulateArgs(argv);
  } catch (err) {
    io.stderr.write(`simulate: ${(err as Error).message}\n${SIMULATE_HELP}`);
    return 2;
  }
  if ('problems' in parsed) {
    for (const p of parsed.problems) io.stderr.write(`simulate: ${p}\n`);
    return 2;
  }
  const o = parsed.options;
  let credentials: Record<string, string> = {};
  if (o.credentialsFile !== undefined)
    try {
      const ids = Array.from({ length: o.nodes }, (_, i) => nodeId(o.prefix, i, o.nodes));
      credentials = await readCredentials(o.credentialsFile, ids);
    } catch (err) {
      io.stderr.write(`simulate: ${(err as Error).message}\n`);
      return 2;
    }

  // Read once here and handed to every worker (each gets a copy): one read of the files, not one per thread.
  const series = await loadDemoSeries();
  const corpus = await readCorpusLines(o.corpusDir);
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const usage = (): ProcessFigures => {
    const c = process.cpuUsage(cpu0);
    const elapsedMs = Date.now() - started;
    return {
      elapsedMs,
      rssBytes: process.memoryUsage.rss(),
      cpuPct: elapsedMs > 0 ? ((c.user + c.system) / 1000 / elapsedMs) * 100 : 0,
    };
  };

  let fleet: Awaited<ReturnType<typeof startFleet>>;
  try {
    fleet = await startFleet(o, series, corpus, credentials);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // A catalogued error is the user's to fix (a data directory in use, a volume that cannot be written): one line.
    if (typeof code !== 'string') throw err;
    io.stderr.write(`simulate: ${(err as Error).message}\n`);
    if (code.startsWith('ET_ERR_DATA_DIR'))
      io.stderr.write(
        `simulate: each node keeps its data under --data-dir (now ${o.dataDir}): give this run another one\n`,
      );
    return 1;
  }
  io.stdout.write(
    `simulating ${o.nodes} gateways against ${o.broker} on ${o.workers} worker thread(s); logs from ${corpus ? `${o.corpusDir} (${corpus.length} datasets)` : 'the demo templates'}` +
      `${o.logStore ? '' : '; light profile (no log store)'}${o.outageRate > 0 ? `; ${o.outageRate} cuts per node per hour` : ''} (started in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );

  // Each figures() call reports the loop delay since the previous one: the worst over the run is kept here.
  const worstLoop: LoopDelay = { p99Ms: 0, maxMs: 0 };
  const noteLoop = (d: LoopDelay) => {
    worstLoop.p99Ms = Math.max(worstLoop.p99Ms, d.p99Ms);
    worstLoop.maxMs = Math.max(worstLoop.maxMs, d.maxMs);
  };
  const progress =
    o.progressMs > 0
      ? setInterval(() => {
          fleet.figures().then(
            (f) => {
              noteLoop(f.loopDelay);
              io.stdout.write(formatProgress(fleetTotals(f.nodes), usage(), f.loopDelay) + '\n');
            },
            (err: Error) => io.stderr.write(`simulate: ${err.message}\n`),
          );
        }, o.progressMs)
      : undefined;

  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // Started by `edge-telemetry start` with an IPC channel: when that parent dies, stop too.
    // The channel itself must not keep the process alive.
    if (process.connected) {
      process.once('disconnect', done);
      process.channel?.unref();
    }
    // Cleared below: a stop by signal must not wait out the duration.
    if (o.durationMs !== undefined) timer = setTimeout(done, o.durationMs);
  });
  clearTimeout(timer);
  clearInterval(progress);
  // Taken before the stop: the nodes disconnect as they stop, so afterwards every run said 0 connected.
  const before = await fleet.figures().then(
    (f) => {
      noteLoop(f.loopDelay);
      return f.nodes;
    },
    () => [],
  );
  const figures = await fleet.stop();
  const connected = fleetTotals(before).connected;
  const unacked = formatUnacked(figures, before, worstLoop);
  io.stdout.write([formatSummary({ ...fleetTotals(figures), connected }, usage()), ...unacked].join('\n') + '\n');
  return 0;
}
