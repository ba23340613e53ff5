import type { Writable } from 'node:stream';

export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
}
export type CommandRun = (argv: string[], io: CommandIo) => Promise<number>;

export interface Command {
  words: string[];
  summary: string;
  load(): Promise<CommandRun>;
}

export const commands: Command[] = [
  {
    words: ['start'],
    summary: 'run the whole pipeline on embedded defaults: aedes broker, ingester on embedded ClickHouse, a collector for this machine [--simulate N]',
    load: async () => (await import('./start.js')).runStart,
  },
];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length));
  return [
    'usage: edge-telemetry <command> [options]',
    '',
    ...commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}
