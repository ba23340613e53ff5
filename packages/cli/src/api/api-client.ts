/**
 * The one way the CLI talks to the ingester's HTTP API: URL and bearer token from flags or the
 * environment, and failures turned into one line that names the API's error code.
 */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface ApiTarget {
  url: string;
  token: string | undefined;
}

/**
 * --url / EDGE_TELEMETRY_URL (default loopback 8080), without trailing slashes. Not an http(s)
 * URL is bad usage, said before any call (fetch's "Failed to parse URL" read as an unreachable API).
 */
export function apiUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const raw = flag ?? env.EDGE_TELEMETRY_URL ?? DEFAULT_API_URL;
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : undefined;
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new Error(
      `${flag !== undefined ? '--url' : 'EDGE_TELEMETRY_URL'} ${raw}: not an http(s) URL of the ingester's API (e.g. ${DEFAULT_API_URL})`,
    );
  return raw.replace(/\/+$/, '');
}

/** --token, else EDGE_TELEMETRY_TOKEN, else EDGE_TELEMETRY_ADMIN_TOKEN (the admin token `start` uses). */
export function apiToken(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return flag ?? env.EDGE_TELEMETRY_TOKEN ?? env.EDGE_TELEMETRY_ADMIN_TOKEN;
}

/** Resolves with the response when it is 2xx; rejects with `ET_ERR_UNREACHABLE: ...` or `HTTP <status> <code>: <message>`. */
export async function apiFetch(t: ApiTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (t.token) headers.set('authorization', `Bearer ${t.token}`);
  let res: Response;
  try {
    res = await fetch(t.url + path, { ...init, headers });
  } catch (err) {
    throw new Error(`ET_ERR_UNREACHABLE: ${t.url}: ${(err as Error).message}`, { cause: err });
  }
  if (res.ok) return res;
  const text = await res.text();
  let reason = text;
  try {
    const e = JSON.parse(text) as { code?: string; message?: string };
    const code = e.code ?? String(res.status);
    // The API's messages mostly begin with their code already.
    reason = e.message?.startsWith(`${code}: `) ? e.message : `${code}: ${e.message ?? text}`;
  } catch {
    // Not the API's JSON error body: report the text as is.
  }
  const hint =
    res.status === 401 && !t.token ? '; give a token with --token or in EDGE_TELEMETRY_TOKEN (`start` prints one)' : '';
  throw new Error(`HTTP ${res.status} ${reason}${hint}`);
}
