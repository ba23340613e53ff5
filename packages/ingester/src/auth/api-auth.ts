/**
 * The parts of API authentication, built before the app: the token store, the audit log and the
 * rate limiter. The app installs them as one hook (auth/plugin.ts); the token and audit routes and
 * the log-pull coordinator use the store and the audit log. The bootstrap admin token is the
 * configured one or, when none is, a random one made here for this process (the caller prints it).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createAuditLog, type AuditLog } from './audit-log.js';
import type { AuthConfig } from './options.js';
import type { RouteAccessEntry } from './plugin.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { newTokenSecret } from './secret.js';
import { createTokenStore, type TokenStore } from './token-store.js';

export interface ApiAuth {
  /** The bootstrap admin token, and whether it was made at start (then nobody knows it yet). */
  adminToken: { token: string; generated: boolean };
  audit: AuditLog;
  tokens: TokenStore;
  limiter: RateLimiter;
  /** Every route with the access it requires, as the app's auth hook registered them (complete once the app is ready). */
  routes(): RouteAccessEntry[];
  /** Called by the auth hook for each route it sees. */
  noteRoute(r: RouteAccessEntry): void;
}

export function createApiAuth(deps: { client: ClickHouseClient; options: AuthConfig; now?: () => number }): ApiAuth {
  const { client, options } = deps;
  const adminToken = options.adminToken
    ? { token: options.adminToken, generated: false }
    : { token: newTokenSecret(), generated: true };
  const routes: RouteAccessEntry[] = [];
  return {
    adminToken,
    tokens: createTokenStore({
      client,
      bootstrapSecret: adminToken.token,
      cacheMs: options.tokenCacheMs,
      now: deps.now,
    }),
    audit: createAuditLog({ client, now: deps.now }),
    limiter: createRateLimiter({ perSecond: options.rateLimitPerSecond, burst: options.rateLimitBurst, now: deps.now }),
    routes: () => [...routes],
    noteRoute: (r) => routes.push(r),
  };
}
