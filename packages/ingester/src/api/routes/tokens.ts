/**
 * Token management (admin): create a token with a role (its secret is in this one answer only),
 * list tokens without secrets, revoke one. Each call is written to the audit trail, refusals too.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { IngesterError } from '../../errors.js';
import { ROUTE_ERRORS } from '../schemas.js';
import type { AuditLog } from '../../auth/audit-log.js';
import { ROLES } from '../../auth/roles.js';
import type { TokenRecord, TokenStore } from '../../auth/token-store.js';

export interface TokenRouteDeps {
  store: TokenStore;
  audit: AuditLog;
  now?: () => number;
}

const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9][A-Za-z0-9 _.@:-]*$',
      description: 'Who or what holds the token (a person, a dashboard).',
    }),
    role: Role,
    expiresInDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3650,
        description: 'Days until the token stops working; unset = until revoked.',
      }),
    ),
  },
  { additionalProperties: false },
);
type CreateTokenBodyT = Static<typeof CreateTokenBody>;

const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Role,
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  revokedAt: Type.Optional(Type.String({ format: 'date-time' })),
  revokedBy: Type.Optional(Type.String()),
});
const CreatedToken = Type.Composite([
  TokenInfo,
  Type.Object({ token: Type.String({ description: 'The secret: shown once, stored only as a hash.' }) }),
]);
const TokenParams = Type.Object({ id: Type.String({ pattern: '^tk_[0-9a-f]{16}$' }) });
type TokenParamsT = Static<typeof TokenParams>;

const errors = ROUTE_ERRORS;
const admin = { role: 'admin' as const };

const iso = (ms: number): string => new Date(ms).toISOString();

function info(r: TokenRecord): Static<typeof TokenInfo> {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: iso(r.createdAt),
    createdBy: r.createdBy,
    ...(r.expiresAt !== undefined ? { expiresAt: iso(r.expiresAt) } : {}),
    ...(r.revokedAt !== undefined ? { revokedAt: iso(r.revokedAt), revokedBy: r.revokedBy ?? '' } : {}),
  };
}

export async function tokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): Promise<void> {
  const { store, audit } = deps;
  const now = deps.now ?? Date.now;
  const who = (p: { id: string; name: string } | undefined): string => (p ? `${p.name} (${p.id})` : 'unknown');

  app.post<{ Body: CreateTokenBodyT }>(
    '/api/v1/tokens',
    {
      config: admin,
      attachValidation: true,
      schema: {
        summary: 'Create an API token with a role (admin)',
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errors },
      },
    },
    async (req, reply) => {
      if (req.validationError) {
        await audit.record({
          actor: req.principal,
          action: 'token.create',
          outcome: 'refused',
          reason: req.validationError.message,
          remoteAddress: req.ip,
        });
        throw new IngesterError('ET_ERR_BAD_REQUEST', req.validationError.message);
      }
      const b = req.body;
      const { token, record } = await store.create({
        name: b.name,
        role: b.role,
        createdBy: who(req.principal),
        ...(b.expiresInDays ? { expiresAt: now() + b.expiresInDays * 86_400_000 } : {}),
      });
      await audit.record({
        actor: req.principal,
        action: 'token.create',
        outcome: 'ok',
        detail: { tokenId: record.id, name: record.name, role: record.role },
        remoteAddress: req.ip,
      });
      return reply.status(201).send({ ...info(record), token });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: admin,
      schema: {
        summary: 'Every API token, without secrets (admin)',
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfo) }), ...errors },
      },
    },
    async () => ({
      tokens: (await store.list()).map(info),
    }),
  );

  app.delete<{ Params: TokenParamsT }>(
    '/api/v1/tokens/:id',
    {
      config: admin,
      schema: {
        summary: 'Revoke an API token at once (admin)',
        params: TokenParams,
        response: { 200: TokenInfo, ...errors },
      },
    },
    async (req) => {
      const r = await store.revoke(req.params.id, who(req.principal));
      await audit.record({
        actor: req.principal,
        action: 'token.revoke',
        outcome: r ? 'ok' : 'refused',
        ...(r ? {} : { reason: 'no such token' }),
        detail: { tokenId: req.params.id, ...(r ? { name: r.name, role: r.role } : {}) },
        remoteAddress: req.ip,
      });
      if (!r) throw new IngesterError('ET_ERR_NOT_FOUND', `no token ${req.params.id}`);
      return info(r);
    },
  );
}
