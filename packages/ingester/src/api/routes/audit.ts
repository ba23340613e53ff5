/** The audit trail through the API (admin): log pulls and admin actions, newest first. */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../auth/audit-log.js';
import { timeRange } from '../time-range.js';
import { ROUTE_ERRORS, TimeParam } from '../schemas.js';

export const AuditQuery = Type.Object(
  {
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    action: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "One action only: 'request' (a log pull), 'token.create', 'token.revoke', 'forbidden', ...",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
  },
  { additionalProperties: false },
);
type AuditQueryT = Static<typeof AuditQuery>;

const Entry = Type.Object({
  at: Type.String({ format: 'date-time' }),
  who: Type.String({ description: 'Token name and id; never the secret.' }),
  action: Type.String(),
  accepted: Type.Boolean(),
  reason: Type.String(),
  node: Type.String(),
  pullId: Type.String(),
  detail: Type.Unknown(),
  remoteAddress: Type.String(),
});

const DEFAULT_SPAN_MS = 7 * 86_400_000;
const MAX_SPAN_MS = 400 * 86_400_000;
const errors = ROUTE_ERRORS;

export async function auditRoutes(app: FastifyInstance, deps: { audit: AuditLog; now?: () => number }): Promise<void> {
  const now = deps.now ?? Date.now;
  app.get<{ Querystring: AuditQueryT }>(
    '/api/v1/audit',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Audit trail: log pulls and admin actions with who, what, when and outcome (admin)',
        querystring: AuditQuery,
        response: { 200: Type.Object({ entries: Type.Array(Entry) }), ...errors },
      },
    },
    async (req) => {
      const range = timeRange(req.query.from, req.query.to, now(), {
        defaultSpanMs: DEFAULT_SPAN_MS,
        maxSpanMs: MAX_SPAN_MS,
      });
      return {
        entries: await deps.audit.list({
          ...range,
          limit: req.query.limit ?? 1000,
          ...(req.query.action ? { action: req.query.action } : {}),
        }),
      };
    },
  );
}
