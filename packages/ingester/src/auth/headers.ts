/**
 * Security headers on every response. The API answers JSON only, so its policy allows nothing;
 * the OpenAPI page (swagger-ui, served from the package) needs its own scripts and inline styles.
 * The web UI sets its own, stricter, same-origin policy (ui/plugin.ts) and keeps it.
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const FIXED_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

const isDocs = (url: string): boolean => url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');

/** The headers a response to `url` gets, given the ones it already has (those are kept). */
export function securityHeaders(url: string, has: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = { ...FIXED_HEADERS };
  if (!has('content-security-policy')) out['content-security-policy'] = isDocs(url) ? DOCS_CSP : API_CSP;
  // API answers may hold data or a new token's secret: no cache keeps a copy.
  if (url.startsWith('/api/') && !has('cache-control')) out['cache-control'] = 'no-store';
  return out;
}
