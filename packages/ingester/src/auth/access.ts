/**
 * Which caller a route admits. A route declares its minimum role in its config
 * (`config: { role: 'viewer' }`) or that it serves no data (`config: { public: true }`, the web
 * UI's pages). Anything undeclared needs admin: a route added without thought is closed, not open.
 *
 * Public by path: the probes (/healthz, /readyz: orchestrators call them without credentials),
 * the OpenAPI page (/docs: the API's shape, no data) and /metrics, the ingester's own counters
 * (queue depths, rejections by code): no fleet data, no names, and Prometheus scrapes it. Expose
 * the port only where that is acceptable (docs/security.md).
 */
import type { Role } from './roles.js';

export type Access = 'public' | Role;

const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface RouteAccessConfig {
  role?: Role;
  public?: boolean;
}

export function routeAccess(url: string, config: RouteAccessConfig | undefined): Access {
  if (config?.role) return config.role;
  if (config?.public === true) return 'public';
  if (PUBLIC_PATHS.has(url) || url === '/docs' || url.startsWith('/docs/')) return 'public';
  return 'admin';
}
