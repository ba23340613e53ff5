/**
 * Runtime wiring of API authentication: the token store, the audit log, the rate limiter, the
 * hooks, strict JSON bodies and the token and audit routes, on one app. The bootstrap admin token is the configured
 * one or, when none is, a random one made here for this process (the caller prints it).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { auditRoutes } from '../api/routes/audit.js';
import { tokenRoutes } from '../api/routes/tokens.js';
import { createAuditLog, type AuditLog } from './audit-log.js';
import type { AuthConfig } from './options.js';
import { installAuth, type RouteAccessEntry } from './plugin.js';
import { createRateLimiter } from './rate-limit.js';
import { newTokenSecret } from './secret.js';
import { installStrictJson } from './strict-json.js';
import { createTokenStore, type TokenStore } from './token-store.js';

export interface ApiAuth {
  /** The bootstrap admin token, and whether it was made at start (then nobody knows it yet). */
  adminToken: { token: string; generated: boolean };
  audit: AuditLog;
  tokens: TokenStore;
  /** Every route with the access it requires (complete once the app is ready). */
  routes(): RouteAccessEntry[];
}

export function installApiAuth(
  app: FastifyInstance,
  deps: { client: ClickHouseClient; options: AuthConfig; now?: () => number },
): ApiAuth {
  const { client, options } = deps;
  const adminToken = options.adminToken
    ? { token: options.adminToken, generated: false }
    : { token: newTokenSecret(), generated: true };
  const tokens = createTokenStore({
    client,
    bootstrapSecret: adminToken.token,
    cacheMs: options.tokenCacheMs,
    now: deps.now,
  });
  const audit = createAuditLog({ client, now: deps.now });
  const limiter = createRateLimiter({
    perSecond: options.rateLimitPerSecond,
    burst: options.rateLimitBurst,
    now: deps.now,
  });
  const hooks = installAuth(app, { store: tokens, limiter, audit });
  installStrictJson(app);
  void app.register(async (api) => tokenRoutes(api, { store: tokens, audit, now: deps.now }));
  void app.register(async (api) => auditRoutes(api, { audit, now: deps.now }));
  return { adminToken, audit, tokens, routes: hooks.routes };
}
