/**
 * Bearer-token authentication, roles, per-token rate limits and security headers as app-wide
 * hooks. One onRequest hook checks every route against the access it declares (access.ts), before
 * the body is even parsed; routes that match nothing (404) pass untouched. The routes and their
 * access are noted for tests and the docs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { IngesterErrorCodes, type IngesterErrorCode } from '../errors.js';
import { routeAccess, type Access } from './access.js';
import { actorLabel, type AuditLog } from './audit-log.js';
import { securityHeaders } from './headers.js';
import type { RateLimiter, Take } from './rate-limit.js';
import { roleAllows, type Principal, type Role } from './roles.js';
import { bearerSecret } from './secret.js';
import type { TokenStore } from './token-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Minimum role for the route (auth/access.ts); undeclared = admin. */
    role?: Role;
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; unset on public routes. */
    principal?: Principal;
  }
}

export interface RouteAccessEntry {
  method: string;
  url: string;
  access: Access;
}

export interface AuthDeps {
  tokens: TokenStore;
  limiter: RateLimiter;
  audit: AuditLog;
  noteRoute(r: RouteAccessEntry): void;
}

function refuse(reply: FastifyReply, code: IngesterErrorCode, message: string): FastifyReply {
  const statusCode = IngesterErrorCodes[code].status;
  return reply.status(statusCode).send({ code, message, statusCode });
}

function tooMany(reply: FastifyReply, t: Extract<Take, { allowed: false }>): FastifyReply {
  return refuse(
    reply.header('retry-after', String(t.retryAfterS)),
    'ET_ERR_RATE_LIMITED',
    `too many requests; retry in ${t.retryAfterS} s`,
  );
}

function checker(deps: AuthDeps): onRequestHookHandler {
  return async function checkToken(req: FastifyRequest, reply: FastifyReply) {
    const url = req.routeOptions.url;
    if (url === undefined) return;
    const access = routeAccess(url, req.routeOptions.config);
    if (access === 'public') return;
    const secret = bearerSecret(req.headers.authorization);
    const principal = secret === undefined ? undefined : await deps.tokens.verify(secret);
    if (!principal) {
      // Failed attempts share a bucket per address: guessing is slowed, and costs no memory per guess.
      const t = deps.limiter.take(`addr:${req.ip}`);
      if (!t.allowed) return tooMany(reply, t);
      reply.header('www-authenticate', 'Bearer realm="edge-telemetry"');
      return refuse(
        reply,
        'ET_ERR_UNAUTHENTICATED',
        secret === undefined
          ? 'this route needs an Authorization: Bearer <token> header'
          : 'the bearer token is unknown, revoked or expired',
      );
    }
    const t = deps.limiter.take(`token:${principal.id}`);
    if (!t.allowed) return tooMany(reply, t);
    req.principal = principal;
    if (roleAllows(principal.role, access)) return;
    const route = `${req.method} ${url}`;
    try {
      await deps.audit.record({
        actor: principal,
        action: 'forbidden',
        outcome: 'refused',
        reason: `needs ${access}`,
        detail: { route },
        remoteAddress: req.ip,
      });
    } catch (err) {
      req.log.warn(
        { err: (err as Error).message, who: actorLabel(principal), route },
        'audit row of a refused request not written',
      );
    }
    return refuse(reply, 'ET_ERR_FORBIDDEN', `${route} needs the ${access} role; this token has ${principal.role}`);
  };
}

/** Call on the root app, before the route plugins load (hooks added later would miss routes). */
export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  app.addHook('onRoute', (r) => {
    const access = routeAccess(r.url, r.config);
    for (const method of [r.method].flat()) deps.noteRoute({ method, url: r.url, access });
  });
  app.addHook('onRequest', checker(deps));
  app.addHook('onSend', async (req, reply, payload) => {
    reply.headers(securityHeaders(req.url, (name) => reply.hasHeader(name)));
    return payload;
  });
}
