/**
 * Fleet control API (v1): configuration layers for the fleet, a group of nodes (by one of their
 * labels) or one node, each node's configuration state, and a time-boxed debug of one node.
 *
 * Roles (auth/access.ts): reading is for viewers; changing the fleet, a group or a node's layer is
 * for admins; an engineer may only start or end a time-boxed debug of one node. Every change,
 * refused ones included, is in the audit trail with who, what and the diff.
 */
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEBUG_LEVELS, NODE_ID_PATTERN, type ConfigDocument } from '@edge-telemetry/protocol';
import { IngesterError } from '../../errors.js';
import { actorLabel, type AuditLog } from '../../auth/audit-log.js';
import type { Role } from '../../auth/roles.js';
import type { FleetConfig, NodeConfigState } from '../../fleet/service.js';
import type { Layer, Scope } from '../../fleet/layers.js';
import { ROUTE_ERRORS } from '../schemas.js';

export interface FleetConfigRouteDeps {
  fleet: FleetConfig;
  audit: AuditLog;
  now?: () => number;
}

const errors = ROUTE_ERRORS;
const role = (r: Role) => ({ role: r });
const LABEL = '^[A-Za-z0-9_.-]{1,64}$';
/** The largest debug allowance an engineer may grant one node (bytes of shipped lines). */
const MAX_DEBUG_BYTES = 256 * 1024 * 1024;

const Options = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A deep-partial collector configuration (its option names, e.g. {"logs": {"defaults": {...}}}).',
});
const LayerBody = Type.Object({ options: Options }, { additionalProperties: false });
type LayerBodyT = Static<typeof LayerBody>;
const GroupParams = Type.Object({
  label: Type.String({ pattern: LABEL }),
  value: Type.String({ minLength: 1, maxLength: 256 }),
});
const NodeParams = Type.Object({ node: Type.String({ pattern: NODE_ID_PATTERN.source }) });
const DebugBody = Type.Object(
  {
    forMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, description: 'How long the debug lasts.' }),
    extraBytes: Type.Integer({
      minimum: 0,
      maximum: MAX_DEBUG_BYTES,
      default: 8 * 1024 * 1024,
      description: 'Extra line bytes the node may ship for it.',
    }),
    level: Type.Union(
      DEBUG_LEVELS.map((l) => Type.Literal(l)),
      { default: 'debug' },
    ),
    containers: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      maxItems: 64,
      default: [],
      description: 'Container name globs; empty: every container.',
    }),
  },
  { additionalProperties: false },
);
type DebugBodyT = Static<typeof DebugBody>;

const LayerView = Type.Object({
  scope: Type.String(),
  target: Type.String(),
  rev: Type.Integer(),
  removed: Type.Boolean(),
  doc: Type.Optional(Type.Object({}, { additionalProperties: true })),
  docHash: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
const NodeView = Type.Object({
  node: Type.String(),
  online: Type.Boolean(),
  agentVersion: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  configVersions: Type.Array(Type.Integer()),
  desiredRev: Type.Integer(),
  inSync: Type.Boolean({ description: 'The node applied the revision it should run.' }),
  config: Type.Optional(Type.Object({}, { additionalProperties: true })),
  reportedAt: Type.String({ format: 'date-time' }),
});
const ChangeView = Type.Object({
  layer: LayerView,
  diff: Type.Array(Type.Object({}, { additionalProperties: true })),
  sent: Type.Integer({ description: 'Nodes sent the new revision now; the others get it when they come back.' }),
});

/** Options nest as the collector's schema does (a few levels); deeper bodies are refused before any recursive step. */
const MAX_OPTION_DEPTH = 16;
const MAX_OPTION_VALUES = 10_000;

function checkOptionsShape(options: unknown): void {
  const stack: Array<[unknown, number]> = [[options, 0]];
  let seen = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (depth > MAX_OPTION_DEPTH)
      throw new IngesterError('ET_ERR_BAD_REQUEST', `options: nested deeper than ${MAX_OPTION_DEPTH} levels`);
    if (++seen > MAX_OPTION_VALUES)
      throw new IngesterError('ET_ERR_BAD_REQUEST', `options: more than ${MAX_OPTION_VALUES} values`);
    if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) stack.push([x, depth + 1]);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const layerView = (l: Layer): Static<typeof LayerView> => ({
  scope: l.scope,
  target: l.target,
  rev: l.rev,
  removed: l.doc === undefined,
  ...(l.doc ? { doc: l.doc as unknown as Record<string, unknown> } : {}),
  docHash: l.docHash,
  createdBy: l.createdBy,
  createdAt: iso(l.createdAt),
});
const nodeView = (s: NodeConfigState & { desiredRev: number }): Static<typeof NodeView> => ({
  node: s.node,
  online: s.online,
  agentVersion: s.agentVersion,
  labels: s.labels,
  configVersions: s.configVersions,
  desiredRev: s.desiredRev,
  inSync: (s.config?.appliedRev ?? 0) === s.desiredRev,
  ...(s.config ? { config: s.config as unknown as Record<string, unknown> } : {}),
  reportedAt: iso(s.reportedAt),
});

export async function fleetConfigRoutes(app: FastifyInstance, deps: FleetConfigRouteDeps): Promise<void> {
  const { fleet, audit } = deps;
  const now = deps.now ?? Date.now;

  /** Applies one change, audited with its diff (or its refusal), and answers what was sent. */
  async function change(
    req: FastifyRequest,
    action: string,
    scope: Scope,
    target: string,
    next: (prev: ConfigDocument | undefined) => ConfigDocument | undefined,
  ) {
    const node = scope === 'node' ? target : undefined;
    try {
      const r = await fleet.change(scope, target, next, actorLabel(req.principal));
      await audit.record({
        actor: req.principal,
        action,
        outcome: 'ok',
        ...(node ? { node } : {}),
        detail: {
          scope,
          target,
          rev: r.layer.rev,
          previousRev: r.previous?.rev ?? 0,
          diff: r.diff,
          ...(r.layer.doc?.debug ? { debug: r.layer.doc.debug } : {}),
        },
        remoteAddress: req.ip,
      });
      return { layer: layerView(r.layer), diff: r.diff as unknown as Record<string, unknown>[], sent: r.sent };
    } catch (err) {
      await audit.record({
        actor: req.principal,
        action,
        outcome: 'failed',
        reason: (err as Error).message,
        ...(node ? { node } : {}),
        detail: { scope, target },
        remoteAddress: req.ip,
      });
      throw err;
    }
  }

  /** Validation refusals are audited too, then answered 400. */
  async function refuseInvalid(req: FastifyRequest, action: string): Promise<void> {
    if (!req.validationError) return;
    await audit.record({
      actor: req.principal,
      action,
      outcome: 'refused',
      reason: req.validationError.message,
      remoteAddress: req.ip,
    });
    throw new IngesterError('ET_ERR_BAD_REQUEST', req.validationError.message);
  }

  const layerRoutes: Array<{
    url: string;
    scope: Scope;
    target: (p: Record<string, string>) => string;
    params?: object;
  }> = [
    { url: '/api/v1/config/fleet', scope: 'fleet', target: () => '' },
    {
      url: '/api/v1/config/groups/:label/:value',
      scope: 'group',
      target: (p) => `${p.label}=${p.value}`,
      params: GroupParams,
    },
    { url: '/api/v1/config/nodes/:node', scope: 'node', target: (p) => p.node as string, params: NodeParams },
  ];
  for (const r of layerRoutes) {
    app.get<{ Params: Record<string, string> }>(
      r.url,
      {
        config: role('viewer'),
        schema: {
          summary: `Versions of the ${r.scope} configuration layer, newest first (viewer)`,
          ...(r.params ? { params: r.params } : {}),
          response: { 200: Type.Object({ versions: Type.Array(LayerView) }), ...errors },
        },
      },
      async (req) => ({ versions: (await fleet.history(r.scope, r.target(req.params), 50)).map(layerView) }),
    );
    app.put<{ Params: Record<string, string>; Body: LayerBodyT }>(
      r.url,
      {
        config: role('admin'),
        attachValidation: true,
        schema: {
          summary: `Set the ${r.scope} configuration layer: sent to the nodes it concerns (admin)`,
          ...(r.params ? { params: r.params } : {}),
          body: LayerBody,
          response: { 200: ChangeView, ...errors },
        },
      },
      async (req) => {
        await refuseInvalid(req, 'config.set');
        checkOptionsShape(req.body.options);
        // A node's own layer keeps a debug in force: setting options is not ending someone's debug.
        return change(req, 'config.set', r.scope, r.target(req.params), (prev) =>
          prev?.debug ? { options: req.body.options, debug: prev.debug } : { options: req.body.options },
        );
      },
    );
    app.delete<{ Params: Record<string, string> }>(
      r.url,
      {
        config: role('admin'),
        attachValidation: true,
        schema: {
          summary: `Remove the ${r.scope} configuration layer (admin)`,
          ...(r.params ? { params: r.params } : {}),
          response: { 200: ChangeView, ...errors },
        },
      },
      async (req) => {
        await refuseInvalid(req, 'config.remove');
        return change(req, 'config.remove', r.scope, r.target(req.params), () => undefined);
      },
    );
  }

  app.get(
    '/api/v1/config/layers',
    {
      config: role('viewer'),
      schema: {
        summary: 'The layer in force of every scope (viewer)',
        response: { 200: Type.Object({ layers: Type.Array(LayerView) }), ...errors },
      },
    },
    async () => ({ layers: (await fleet.layers()).map(layerView) }),
  );

  app.get(
    '/api/v1/config/status',
    {
      config: role('viewer'),
      schema: {
        summary: "Every node's configuration state against the revision it should run (viewer)",
        response: { 200: Type.Object({ nodes: Type.Array(NodeView) }), ...errors },
      },
    },
    async () => ({ nodes: (await fleet.nodes()).map(nodeView) }),
  );

  app.get<{ Params: Static<typeof NodeParams> }>(
    '/api/v1/nodes/:node/config',
    {
      config: role('viewer'),
      schema: {
        summary: "One node's state, its merged document and the layers it is made of (viewer)",
        params: NodeParams,
        response: {
          200: Type.Composite([
            NodeView,
            Type.Object({
              desired: Type.Object({}, { additionalProperties: true }),
              layers: Type.Array(LayerView),
            }),
          ]),
          ...errors,
        },
      },
    },
    async (req) => {
      const s = await fleet.node(req.params.node);
      if (!s) throw new IngesterError('ET_ERR_NOT_FOUND', `node ${req.params.node} has not reported a status`);
      return {
        ...nodeView({ ...s, desiredRev: s.desired.rev }),
        desired: s.desired.doc as unknown as Record<string, unknown>,
        layers: s.desired.layers.map(layerView),
      };
    },
  );

  app.post<{ Params: Static<typeof NodeParams>; Body: DebugBodyT }>(
    '/api/v1/nodes/:node/debug',
    {
      config: role('engineer'),
      attachValidation: true,
      schema: {
        summary: "Raise one node's log detail for a while, within an extra byte allowance (engineer)",
        params: NodeParams,
        body: DebugBody,
        response: { 200: ChangeView, ...errors },
      },
    },
    async (req) => {
      await refuseInvalid(req, 'config.debug');
      const b = req.body;
      const at = now();
      return change(req, 'config.debug', 'node', req.params.node, (prev) => ({
        options: prev?.options ?? {},
        debug: {
          id: randomBytes(8).toString('hex'),
          until: at + b.forMs,
          forMs: b.forMs,
          extraBytes: b.extraBytes,
          level: b.level,
          containers: b.containers,
        },
      }));
    },
  );

  app.delete<{ Params: Static<typeof NodeParams> }>(
    '/api/v1/nodes/:node/debug',
    {
      config: role('engineer'),
      schema: {
        summary: "End a node's time-boxed debug now (engineer)",
        params: NodeParams,
        response: { 200: ChangeView, ...errors },
      },
    },
    async (req) =>
      change(req, 'config.debug_end', 'node', req.params.node, (prev) => ({ options: prev?.options ?? {} })),
  );
}
