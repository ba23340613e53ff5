// @ts-check
/** Calls to the API v1 from the pages: the bearer token from sessionStorage on every request. */

const TOKEN_KEY = 'edge-telemetry.token';

/** @param {Storage} store */
export function readToken(store) {
  return store.getItem(TOKEN_KEY) ?? '';
}

/** @param {Storage} store @param {string} token */
export function writeToken(store, token) {
  if (token) store.setItem(TOKEN_KEY, token);
  else store.removeItem(TOKEN_KEY);
}

/** Headers for an API call; no Authorization header at all when no token is set. */
export function authHeaders(token, extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : { ...extra };
}

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A readable sentence for a failed call, with the hint a user needs for 401/403. */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'The API needs a token: enter it in the header field and press Save.';
    // The role is too low; other 403s (a pull another token requested) say why themselves.
    if (err.status === 403 && err.code === 'ET_ERR_FORBIDDEN') return 'This token is not allowed to do that.';
    // The API's messages start with their code already.
    return err.message.startsWith(`${err.code}:`) ? err.message : `${err.code}: ${err.message}`;
  }
  return `Request failed: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * fetch with the token; throws ApiError on a non-2xx answer. Returns the Response so callers
 * choose json() or a stream.
 * @param {string} path @param {RequestInit} [init]
 */
export async function apiFetch(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: authHeaders(readToken(sessionStorage), /** @type {Record<string,string>} */ (init.headers ?? {})),
  });
  if (!res.ok) {
    let code = 'ET_ERR_HTTP';
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      code = body.code ?? code;
      message = body.message ?? message;
    } catch {
      // A body that is not the API's error JSON (a proxy page): the status line says enough.
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/** @param {string} path @param {RequestInit} [init] */
export async function apiJson(path, init) {
  return (await apiFetch(path, init)).json();
}
