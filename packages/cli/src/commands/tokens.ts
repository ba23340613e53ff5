/**
 * `edge-telemetry tokens create --name <n> --role viewer|engineer|admin [--expires-days d]`,
 * `tokens list`, `tokens revoke <id>`: API token management through the ingester's API (admin
 * role). Common flags: --url (env EDGE_TELEMETRY_URL), --token (env EDGE_TELEMETRY_TOKEN, then
 * EDGE_TELEMETRY_ADMIN_TOKEN), --json. A new token's secret is printed once; the ingester keeps
 * only its hash. Exit 0 on success, 1 when the API refused or failed, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import type { CommandIo } from './index.js';
import { alignedTable, call, COMMON, guarded, target, type Env, type Target } from './api-command.js';

const ROLES = ['viewer', 'engineer', 'admin'];

export interface TokenInfo {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** The options of `tokens create` (the top-level usage lists each). */
export const TOKENS_CREATE_OPTIONS = {
  ...COMMON,
  name: { type: 'string' },
  role: { type: 'string' },
  'expires-days': { type: 'string' },
} as const;

export function parseCreateArgs(
  argv: string[],
  env: Env,
): Target & { body: { name: string; role: string; expiresInDays?: number } } {
  const { values } = parseArgs({ args: argv, options: TOKENS_CREATE_OPTIONS });
  if (!values.name) throw new Error('--name is required (who or what holds the token)');
  if (!values.role || !ROLES.includes(values.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  const days = values['expires-days'];
  if (days !== undefined && (!/^\d+$/.test(days) || Number(days) < 1))
    throw new Error('--expires-days must be a positive integer');
  return {
    ...target(values, env),
    body: { name: values.name, role: values.role, ...(days !== undefined ? { expiresInDays: Number(days) } : {}) },
  };
}

export function parseRevokeArgs(argv: string[], env: Env): Target & { id: string } {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true });
  if (positionals.length !== 1 || !/^tk_[0-9a-f]{16}$/.test(positionals[0] as string))
    throw new Error('give one token id (tk_ and 16 hex digits; see `tokens list`)');
  return { ...target(values, env), id: positionals[0] as string };
}

export function parseListArgs(argv: string[], env: Env): Target {
  return target(parseArgs({ args: argv, options: COMMON }).values, env);
}

/** One line per token, aligned; secrets are never part of a listing. */
export function formatTokenTable(tokens: TokenInfo[]): string {
  const rows = [
    ['ID', 'ROLE', 'NAME', 'CREATED', 'EXPIRES', 'REVOKED'],
    ...tokens.map((t) => [t.id, t.role, t.name, t.createdAt, t.expiresAt ?? '-', t.revokedAt ?? '-']),
  ];
  return alignedTable(rows);
}

const USAGE =
  'usage: edge-telemetry tokens create --name <n> --role viewer|engineer|admin [--expires-days d] | tokens list | tokens revoke <id>   [--url URL] [--token T] [--json]\n';

export const runTokensCreate = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE, async () => {
    const a = parseCreateArgs(argv, process.env);
    const t = await call<TokenInfo & { token: string }>(a, 'POST', '/api/v1/tokens', a.body);
    io.stdout.write(
      a.json
        ? JSON.stringify(t) + '\n'
        : `created ${t.id} "${t.name}" (${t.role}${t.expiresAt ? `, expires ${t.expiresAt}` : ''})\ntoken, shown once (the ingester keeps only its hash):\n${t.token}\n`,
    );
  });

export const runTokensList = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE, async () => {
    const a = parseListArgs(argv, process.env);
    const { tokens } = await call<{ tokens: TokenInfo[] }>(a, 'GET', '/api/v1/tokens');
    io.stdout.write(a.json ? JSON.stringify(tokens) + '\n' : formatTokenTable(tokens));
  });

export const runTokensRevoke = (argv: string[], io: CommandIo): Promise<number> =>
  guarded(io, USAGE, async () => {
    const a = parseRevokeArgs(argv, process.env);
    const t = await call<TokenInfo>(a, 'DELETE', `/api/v1/tokens/${a.id}`);
    io.stdout.write(
      a.json ? JSON.stringify(t) + '\n' : `revoked ${t.id} "${t.name}" (${t.role}) at ${t.revokedAt ?? '?'}\n`,
    );
  });
