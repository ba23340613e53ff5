import type { Writable } from 'node:stream';

export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
}
export type CommandRun = (argv: string[], io: CommandIo) => Promise<number>;

export interface Command {
  words: string[];
  summary: string;
  /** The command prints its own, longer help for --help; otherwise the dispatcher prints its summary. */
  ownHelp?: true;
  load(): Promise<CommandRun>;
}

export const commands: Command[] = [
  {
    words: ['start'],
    summary:
      'run the whole pipeline on embedded defaults: aedes broker, ingester on embedded ClickHouse, a collector for this machine: [--simulate N] [--port 8080] [--host 127.0.0.1] [--mqtt-port 1883] [--mqtt-host 127.0.0.1] [--metrics-port 0] [--data-dir ./data]',
    load: async () => (await import('./start.js')).runStart,
  },
  {
    words: ['simulate'],
    ownHelp: true,
    summary:
      'drive N simulated gateways (real collectors, demo sources) at a broker: --nodes N [--duration 10m] [--outage-rate R] (simulate --help)',
    load: async () => (await import('./simulate.js')).runSimulate,
  },
  {
    words: ['logs', 'templates'],
    summary: 'print the template of every line of a log file as JSON lines: <file> [--format raw|json-file|cri]',
    load: async () => (await import('./logs-templates.js')).runLogsTemplates,
  },
  {
    words: ['logs', 'pull'],
    summary:
      "pull a node's full logs through the API: --node <id> --since 2h [--container c] [--until t] [--grep s] [--level l] [--tail n] [--max-bytes n] [--follow] [-o|--output file]; --id <pull id> [--from n] [--follow] [-o file] attaches to a pull already asked for (--from: after the lines a cut run wrote)",
    load: async () => (await import('./logs-pull.js')).runLogsPull,
  },
  {
    words: ['config', 'options'],
    summary: 'print every option of a service as a Markdown table: <collector|ingester>',
    load: async () => (await import('./config-options.js')).runConfigOptions,
  },
  {
    words: ['config', 'set'],
    summary:
      'set a configuration layer and send it to its nodes: <fleet | group label=value | node id> (--file doc.json | --set path=value ...) [--canary 0.05] [--waves 3] [--hold 5m] [--at-once]',
    load: async () => (await import('./fleet-config.js')).runConfigSet,
  },
  {
    words: ['config', 'get'],
    summary: 'print a configuration layer in force: <fleet | group label=value | node id> [--json: every version]',
    load: async () => (await import('./fleet-config.js')).runConfigGet,
  },
  {
    words: ['config', 'diff'],
    summary:
      'what changed between two versions of a configuration layer: <fleet | group label=value | node id> [--from rev] [--to rev]',
    load: async () => (await import('./fleet-config.js')).runConfigDiff,
  },
  {
    words: ['config', 'rollout'],
    summary: 'staged rollouts of group and fleet changes: [status [id] | halt <id> | resume <id>]',
    load: async () => (await import('./fleet-config.js')).runConfigRollout,
  },
  {
    words: ['config', 'status'],
    summary: "every node's configuration state: applied revision against the one it should run, hash, debug, reason",
    load: async () => (await import('./fleet-config.js')).runConfigStatus,
  },
  {
    words: ['debug'],
    summary: "raise one node's log detail for a while: <node> --for 15m [--bytes N] [--level debug] [--container glob]",
    load: async () => (await import('./fleet-config.js')).runDebug,
  },
  {
    words: ['tokens', 'create'],
    summary:
      'create an API token (the secret is printed once): --name <n> --role viewer|engineer|admin [--expires-days N]',
    load: async () => (await import('./tokens.js')).runTokensCreate,
  },
  {
    words: ['tokens', 'list'],
    summary: 'list API tokens (ids, names, roles, never secrets)',
    load: async () => (await import('./tokens.js')).runTokensList,
  },
  {
    words: ['tokens', 'revoke'],
    summary: 'revoke an API token: <id>',
    load: async () => (await import('./tokens.js')).runTokensRevoke,
  },
  {
    words: ['nodes', 'add'],
    summary:
      "create a node's broker credentials and print its collector configuration: <id> [--password-file path] [--data-dir ./data] [--broker mqtts://host:8883] [--ca-file path] [--format json|env]",
    load: async () => (await import('./nodes-add.js')).runNodesAdd,
  },
];

/** `edge-telemetry <words> --help` of a command without its own help: its one line, on stdout. */
export function commandHelp(c: Command): string {
  return `edge-telemetry ${c.words.join(' ')}: ${c.summary}\n(every option: packages/cli/README.md)\n`;
}

/** The options every command that calls the API takes (api-command.ts COMMON; logs pull: --url and --token). */
export const API_OPTIONS_HELP = [
  '  --url URL   the ingester API (env EDGE_TELEMETRY_URL, default http://127.0.0.1:8080)',
  '  --token T   an API token (env EDGE_TELEMETRY_TOKEN, then EDGE_TELEMETRY_ADMIN_TOKEN)',
  '  --json      JSON output (config, debug, tokens)',
];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length));
  return [
    'usage: edge-telemetry <command> [options]',
    '',
    ...commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'options of the commands that call the API (config, debug, tokens, logs pull):',
    ...API_OPTIONS_HELP,
    '',
    "edge-telemetry <command> --help (or -h): that command's usage; every option: packages/cli/README.md",
    '',
  ].join('\n');
}
