/**
 * The simulator's options: what `simulate` takes on its command line, checked and given defaults
 * in one place, with the reason for each default.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface SimulateOptions {
  nodes: number;
  broker: string;
  mqttVersion: 4 | 5;
  dataDir: string;
  prefix: string;
  scrapeMs: number;
  windowMs: number;
  /**
   * Demo containers on every node; undefined: 8 to 30 by node id (the default profile, about 23 log
   * lines a second per node). Fewer make the thin gateway a 1,000-node load fits beside its system under test.
   */
  containers: number | undefined;
  /** Run time in ms; undefined runs until SIGINT/SIGTERM. */
  durationMs: number | undefined;
  /** Threads the nodes are spread over (one event loop each). */
  workers: number;
  /** Per-node full-log store and pull responder: off in the light profile. */
  logStore: boolean;
  /** Cuts per node per hour of its broker connection (0 = none). */
  outageRate: number;
  /** Mean length of a cut (ms); each is drawn uniformly from half to one and a half of it. */
  outageMs: number;
  /** How long a node waits for the ingester's ack before it publishes a batch again (the collector's uplink.sender.ackTimeoutMs). */
  ackTimeoutMs: number;
  /** Where Loghub-2k lies; its lines replace the demo templates when the folder is present. */
  corpusDir: string;
  /** Progress line period (ms); 0 = only the summary. */
  progressMs: number;
  /** JSON file of `{ "<node id>": "<password>" }`: each node logs in as its own broker account. */
  credentialsFile: string | undefined;
  /** File a line per acknowledged batch is appended to (simulate/delivery-log.ts); undefined: none. */
  deliveriesFile: string | undefined;
}

export const SIMULATE_HELP = `usage: edge-telemetry simulate --nodes N [options]

Drives N simulated gateways at a broker. Each is a real collector (downsampler, log pipeline,
disk outbox, uplink with its own MQTT session and client id et-<node>), fed by demo sources:
containers shaped by real NAB series with restarts and OOM kills (events), and log lines from
the Loghub-2k corpora when --corpus is present, from the demo templates otherwise. Nodes are
spread over worker threads; codec, series and corpus are shared inside each thread.

  --nodes N            gateways to simulate (1-10000; default 5)
  --broker URL         mqtt:// or mqtts:// broker (default mqtt://127.0.0.1:1883)
  --mqtt-version 4|5   MQTT 3.1.1 or 5 (default 5; the embedded aedes needs 4)
  --duration D         stop after D (30s, 10m, 2h; a bare number is seconds) and print a summary;
                       default: run until Ctrl-C, which also prints it
  --data-dir DIR       one folder per node below it (outbox, log store) (default ./data/simulated).
                       Each outbox fdatasyncs every batch: for hundreds of nodes on one disk put
                       it on tmpfs (/dev/shm/...), or the disk sets the pace
  --prefix P           node ids P-1 ... P-N, numbers padded to N's digits (P-01 ... P-12)
                       (default sim)
  --scrape-ms MS       metric scrape interval (default 10000)
  --window-ms MS       summary window (default 60000)
  --containers N       demo containers on every node (1-500); default 8 to 30 by node id, about
                       1.2 log lines a second each. A thin gateway (e.g. 2) sends the same kind
                       of window summaries with less for the simulator itself to make
  --outage-rate R      broker connection cuts per node per hour (default 0): the node keeps
                       collecting, its backlog grows in the outbox and drains on reconnect
  --outage-ms MS       mean cut length (default 60000; each is 0.5-1.5x of it)
  --ack-timeout-ms MS  a node publishes a batch again when no ack came within this (default 60000,
                       the collector's); shorter shows recovery from a lost ingester sooner
  --log-store          give each node its full-log store and log-pull responder. Off by default
                       (the light profile): the store is a zstd context and a segment file per
                       node, which is what keeps 1000 nodes on two cores
  --workers N          worker threads (default: one per core, at most one per 100 nodes)
  --corpus DIR         Loghub-2k folder (default ../shared/corpora/loghub2k)
  --progress S         print totals every S seconds (default 60; 0 = never)
  --credentials FILE   JSON { "<node id>": "<password>" }: each node logs in with its own broker
                       account (user and client id = node id), as \`start\` gives its gateways;
                       every simulated node must have one
  --deliveries FILE    append a line per batch the centre acknowledged, as its node saw it:
                       node, epoch, seq, first publish and ack arrival (ms since 1970,
                       tab-separated). The ingester acks a batch once it is stored, so the two
                       times bound its publish-to-queryable time from above
`;

/** `30s`, `10m`, `2h`, `500ms`, or a bare number of seconds, in ms; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const NODES_PER_WORKER_MIN = 100;

/** Parsed options, or the problems found (each a sentence that says what to fix). */
export function parseSimulateArgs(
  argv: string[],
  cores = os.availableParallelism(),
): { options: SimulateOptions } | { problems: string[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '5' },
      broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      'mqtt-version': { type: 'string', default: '5' },
      'data-dir': { type: 'string', default: './data/simulated' },
      prefix: { type: 'string', default: 'sim' },
      'scrape-ms': { type: 'string', default: '10000' },
      'window-ms': { type: 'string', default: '60000' },
      containers: { type: 'string' },
      duration: { type: 'string' },
      workers: { type: 'string' },
      'log-store': { type: 'boolean', default: false },
      'outage-rate': { type: 'string', default: '0' },
      'outage-ms': { type: 'string', default: '60000' },
      'ack-timeout-ms': { type: 'string', default: '60000' },
      corpus: { type: 'string', default: '../shared/corpora/loghub2k' },
      progress: { type: 'string', default: '60' },
      credentials: { type: 'string' },
      deliveries: { type: 'string' },
    },
  });
  const problems: string[] = [];
  const int = (name: string, text: string, min: number, max: number): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < min || v > max)
      problems.push(`--${name} must be a whole number from ${min} to ${max}`);
    return v;
  };
  const nodes = int('nodes', values.nodes, 1, 10_000);
  const scrapeMs = int('scrape-ms', values['scrape-ms'], 100, 3_600_000);
  const windowMs = int('window-ms', values['window-ms'], 100, 86_400_000);
  if (windowMs % scrapeMs !== 0) problems.push('--window-ms must be a multiple of --scrape-ms');
  const containers = values.containers === undefined ? undefined : int('containers', values.containers, 1, 500);
  const mqttVersion = int('mqtt-version', values['mqtt-version'], 4, 5) as 4 | 5;
  const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
  if (values.duration !== undefined && (durationMs === undefined || durationMs <= 0))
    problems.push('--duration must be like 30s, 10m or 2h');
  const outageRate = Number(values['outage-rate']);
  if (!Number.isFinite(outageRate) || outageRate < 0)
    problems.push('--outage-rate must be a number of cuts per node per hour, 0 or more');
  const outageMs = int('outage-ms', values['outage-ms'], 100, 86_400_000);
  const ackTimeoutMs = int('ack-timeout-ms', values['ack-timeout-ms'], 100, 86_400_000);
  const progressS = Number(values.progress);
  if (!Number.isFinite(progressS) || progressS < 0) problems.push('--progress must be a number of seconds, 0 or more');
  const defaultWorkers = Math.max(1, Math.min(cores, Math.ceil(nodes / NODES_PER_WORKER_MIN)));
  const workers = values.workers === undefined ? defaultWorkers : int('workers', values.workers, 1, 64);
  if (!/^mqtts?:\/\//.test(values.broker)) problems.push('--broker must be an mqtt:// or mqtts:// URL');
  if (problems.length > 0) return { problems };
  return {
    options: {
      nodes,
      broker: values.broker,
      mqttVersion,
      dataDir: path.resolve(values['data-dir']),
      prefix: values.prefix,
      scrapeMs,
      windowMs,
      containers,
      durationMs,
      workers: Math.min(workers, nodes),
      logStore: values['log-store'],
      outageRate,
      outageMs,
      ackTimeoutMs,
      corpusDir: path.resolve(values.corpus),
      progressMs: progressS * 1000,
      credentialsFile: values.credentials === undefined ? undefined : path.resolve(values.credentials),
      deliveriesFile: values.deliveries === undefined ? undefined : path.resolve(values.deliveries),
    },
  };
}
