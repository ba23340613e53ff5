/**
 * The top-level usage lists every option each command parses: checked against the option specs
 * the commands hand to node:util's parseArgs, so a new option that is not listed fails here.
 */
import { describe, expect, it } from 'vitest';
import { COMMON } from './api-command.js';
import { DEBUG_OPTIONS, DIFF_OPTIONS, SET_OPTIONS } from './fleet-config.js';
import { API_OPTIONS_HELP, commands, usage } from './index.js';
import { LOGS_PULL_OPTIONS } from './logs-pull.js';
import { LOGS_TEMPLATES_OPTIONS } from './logs-templates.js';
import { NODES_ADD_OPTIONS } from './nodes-add.js';
import { START_OPTIONS } from './start.js';
import { TOKENS_CREATE_OPTIONS } from './tokens.js';

type Specs = Readonly<Record<string, { type: string; short?: string }>>;

/** Every command but `simulate` and `config options`: the first prints its own help, the second takes none. */
const parsed: Record<string, Specs> = {
  start: START_OPTIONS,
  'logs templates': LOGS_TEMPLATES_OPTIONS,
  'logs pull': LOGS_PULL_OPTIONS,
  'config set': SET_OPTIONS,
  'config get': COMMON,
  'config diff': DIFF_OPTIONS,
  'config rollout': COMMON,
  'config status': COMMON,
  debug: DEBUG_OPTIONS,
  'tokens create': TOKENS_CREATE_OPTIONS,
  'tokens list': COMMON,
  'tokens revoke': COMMON,
  'nodes add': NODES_ADD_OPTIONS,
};

describe('edge-telemetry --help', () => {
  it("lists every option each command parses, on its line or among the API commands' options", () => {
    const text = usage();
    const apiOptions = API_OPTIONS_HELP.join('\n');
    const missing: string[] = [];
    for (const c of commands) {
      const words = c.words.join(' ');
      const specs = parsed[words];
      if (specs === undefined) continue;
      const line = text.split('\n').find((l) => l.trimStart().startsWith(`${words} `)) ?? '';
      for (const [name, spec] of Object.entries(specs)) {
        const listed = (flag: string) => new RegExp(`(^|[\\s[(|])${flag}([\\s\\]|=]|$)`).test(line);
        const ok =
          listed(`--${name}`) ||
          (spec.short !== undefined && listed(`-${spec.short}`)) ||
          (name in COMMON && apiOptions.includes(`--${name} `));
        if (!ok) missing.push(`${words} --${name}`);
      }
    }
    expect(missing).toEqual([]);
    expect(Object.keys(parsed).sort()).toEqual(
      commands
        .map((c) => c.words.join(' '))
        .filter((w) => w !== 'simulate' && w !== 'config options')
        .sort(),
    );
  });
});
