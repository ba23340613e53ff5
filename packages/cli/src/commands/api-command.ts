/**
 * What the commands that call the ingester's API share: the common flags (--url, env
 * EDGE_TELEMETRY_URL; --token, env EDGE_TELEMETRY_TOKEN then EDGE_TELEMETRY_ADMIN_TOKEN; --json),
 * a JSON call, and the exit codes: 0 done, 1 the API refused or failed, 2 bad usage.
 */
import type { CommandIo } from './index.js';
import { visibleCell } from './terminal-text.js';
import { apiFetch, apiToken, apiUrl, type ApiTarget } from '../api/api-client.js';

export const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export interface Target extends ApiTarget {
  json: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export function target(values: { url?: string; token?: string; json?: boolean }, env: Env): Target {
  return {
    url: apiUrl(values.url, env),
    token: apiToken(values.token, env),
    json: values.json ?? false,
  };
}

/** The API's answer as JSON. */
export async function call<T>(t: Target, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? { method }
      : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  return (await (await apiFetch(t, path, init)).json()) as T;
}

/** Runs a command: an API failure exits 1 with its line, anything else is bad usage (2, with the usage). */
export async function guarded(io: CommandIo, usage: string, run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (err) {
    const message = (err as Error).message;
    const bad = !/^(HTTP|ET_ERR_)/.test(message);
    io.stderr.write(`${message}\n${bad ? usage : ''}`);
    return bad ? 2 : 1;
  }
}

/** Rows as aligned columns (the first row is the header), one line each, control characters shown (visibleCell). */
export function alignedTable(cells: string[][]): string {
  const rows = cells.map((r) => r.map(visibleCell));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
