/**
 * The HTTP API v1 (fastify 5), assembled in one place: error shape, strict JSON bodies, the auth
 * hook (every route checked against its declared role, auth/plugin.ts), OpenAPI at /docs
 * (swagger-ui's assets served from the package, no CDN), then every route group as a plugin.
 * Errors are { code, message, statusCode }.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import type { ApiAuth } from '../auth/api-auth.js';
import { installAuth } from '../auth/plugin.js';
import { installStrictJson } from '../auth/strict-json.js';
import type { PullCoordinator } from '../pull/coordinator.js';
import type { NodeQuotas } from '../quotas/node-quotas.js';
import { uiPlugin } from '../ui/plugin.js';
import { ErrorBody } from './schemas.js';
import { auditRoutes } from './routes/audit.js';
import { logPullRoutes } from './routes/log-pulls.js';
import { probeRoutes, type ProbeRouteDeps } from './routes/probes.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { tokenRoutes } from './routes/tokens.js';
import { fleetConfigRoutes } from './routes/fleet-config.js';
import type { FleetConfig } from '../fleet/service.js';
import { validationMessage } from './validation-message.js';
import { installClosedQuerystrings } from './closed-querystrings.js';
import type { ReadScheduler } from '../storage/read-scheduler.js';
import type { ReadOptionsT } from '../storage/read-options.js';
import type { LogSearchCounters } from './log-search.js';

export interface ApiDeps extends ProbeRouteDeps {
  client: ClickHouseClient;
  /** The telemetry routes' reads: in turns, writer first, bounded (storage/read-scheduler.ts). */
  reads: ReadScheduler;
  /** The log searches' counters, shown in /metrics. */
  searches: LogSearchCounters;
  readOptions: ReadOptionsT;
  logger: FastifyBaseLogger;
  auth: ApiAuth;
  /** Per-node quota drops, shown with the nodes and the fleet. */
  quotas?: Pick<NodeQuotas, 'drops'>;
  /** The log-pull coordinator; without it the log-pull routes are not served. */
  pulls?: PullCoordinator;
  /** Fleet control; without it the configuration routes are not served. */
  fleet?: FleetConfig;
  onlineWindowS: number;
  now?: () => number;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const { auth, now } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    // A schema closed with additionalProperties: false refuses a field it does not know (400 naming
    // it): fastify's default strips it, so a misspelt filter in a log pull went unnoticed.
    // Querystrings are closed the same way (closed-querystrings.ts). `verbose` hands each error its
    // schema, so the refusal can list what the object takes.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
  });
  // A bad field is named with what it takes (the values of a level), not Ajv's line per union branch.
  app.setSchemaErrorFormatter((errors, dataVar) => new Error(validationMessage(errors, dataVar)));
  app.addSchema(ErrorBody);
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof IngesterError)
      return reply.status(err.statusCode).send({ code: err.code, message: err.message, statusCode: err.statusCode });
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation)
      return reply.status(400).send({ code: 'ET_ERR_BAD_REQUEST', message: e.message, statusCode: 400 });
    if (e.statusCode && e.statusCode < 500)
      return reply
        .status(e.statusCode)
        .send({ code: 'ET_ERR_BAD_REQUEST', message: e.message, statusCode: e.statusCode });
    req.log.error({ err }, 'request failed');
    return reply.status(503).send({
      code: 'ET_ERR_STORAGE_UNAVAILABLE',
      message: 'the query could not be answered; try again',
      statusCode: 503,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'ET_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}`, statusCode: 404 }),
  );
  installStrictJson(app);
  installClosedQuerystrings(app);
  // On the root app before any route: every route gets its token check (fail closed).
  installAuth(app, { tokens: auth.tokens, limiter: auth.limiter, audit: auth.audit, noteRoute: auth.noteRoute });

  void app.register(swagger, {
    openapi: {
      info: {
        title: 'edge-telemetry ingester API',
        version: '1.0.0',
        description: 'Fleet telemetry stored in ClickHouse.',
      },
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  // Route plugins load after swagger, so its onRoute hook sees every one of them.
  void app.register(probeRoutes, deps);
  void app.register(telemetryRoutes, {
    reads: deps.reads,
    searches: deps.searches,
    readOptions: deps.readOptions,
    onlineWindowS: deps.onlineWindowS,
    quotas: deps.quotas,
    now,
  });
  if (deps.pulls) void app.register(logPullRoutes, { coordinator: deps.pulls, now });
  if (deps.fleet) void app.register(fleetConfigRoutes, { fleet: deps.fleet, audit: auth.audit, now });
  void app.register(tokenRoutes, { store: auth.tokens, audit: auth.audit, now });
  void app.register(auditRoutes, { audit: auth.audit, now });
  void app.register(uiPlugin, {});
  return app;
}
