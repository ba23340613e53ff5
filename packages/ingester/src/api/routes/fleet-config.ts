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
import { DEBUG_LEVELS, NODE_ID_PATTERN, remoteOptionsProblems, type ConfigDocument } from '@edge-telemetry/protocol';
import { IngesterError } from '../../errors.js';
import { actorLabel, type AuditLog } from '../../auth/audit-log.js';
import type { Role } from '../../auth/roles.js';
import type { FleetConfig, NodeConfigState } from '../../fleet/service.js';
import { diffOptions, type Layer, type Scope } from '../../fleet/layers.js';
import { admittedCount, type Rollout, type RolloutOptions } from '../../fleet/rollout.js';
import { groupByVersion } from '../../fleet/versions.js';
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
const RolloutBody = Type.Union(
  [
    Type.Literal(false),
    Type.Object(
      {
        canaryShare: Type.Optional(
          Type.Number({ minimum: 0, maximum: 1, description: 'Share of the nodes first (at least one).' }),
        ),
        waves: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Waves after the canaries.' })),
        holdMs: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 86_400_000, description: "How long each stage's health must hold." }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'Group and fleet changes: the staged rollout (defaults: 5 % canaries, 3 waves, 5 min hold); false: every node at once.',
  },
);
const LayerBody = Type.Object(
  { options: Options, rollout: Type.Optional(RolloutBody) },
  { additionalProperties: false },
);
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
  inSync: Type.Boolean({
    description: 'The node applied the document it should run (its docHash is the desired document hash).',
  }),
  config: Type.Optional(Type.Object({}, { additionalProperties: true })),
  reportedAt: Type.String({ format: 'date-time' }),
});
const RolloutView = Type.Object({
  id: Type.String(),
  scope: Type.String(),
  target: Type.String(),
  rev: Type.Integer(),
  prevRev: Type.Integer(),
  state: Type.String({
    description: 'running, halted, done, reverted (a stage failed: the reason says why) or superseded.',
  }),
  reason: Type.String(),
  stage: Type.Integer({ description: '0: the canaries.' }),
  stages: Type.Array(Type.Integer(), { description: 'Cumulative node counts admitted at each stage.' }),
  nodes: Type.Integer(),
  judged: Type.Integer({
    description:
      'Nodes online at the start: the stages up to them are the canaries and waves; the rest take it as they return.',
  }),
  admitted: Type.Integer(),
  holdMs: Type.Integer(),
  holdingSince: Type.Optional(Type.String({ format: 'date-time' })),
  startedBy: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  owner: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
});
const RolloutParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
const ChangeView = Type.Object({
  layer: LayerView,
  diff: Type.Array(Type.Object({}, { additionalProperties: true })),
  sent: Type.Integer({
    description: 'Nodes sent the new revision now; the others get it when they come back or in a later wave.',
  }),
  rollout: Type.Optional(RolloutView),
  superseded: Type.Optional(
    Type.Array(Type.Object({ id: Type.String(), rev: Type.Integer() }), {
      description:
        'Rollouts of this layer still under way that the change replaced: a failure of this one reverts to the last version rolled out to every node, dropping them.',
    }),
  ),
});
const RemoveQuery = Type.Object({
  rollout: Type.Optional(
    Type.Boolean({
      description: 'false: every node at once; otherwise a group or fleet removal is rolled out like a change.',
    }),
  ),
});
const DiffQuery = Type.Object({
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'Revision (default: the one before `to`).' })),
  to: Type.Optional(Type.Integer({ minimum: 1, description: 'Revision (default: the latest).' })),
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
const rolloutView = (r: Rollout): Static<typeof RolloutView> => ({
  id: r.id,
  scope: r.scope,
  target: r.target,
  rev: r.rev,
  prevRev: r.prevRev,
  state: r.state,
  reason: r.reason,
  stage: r.stage,
  stages: r.stages,
  nodes: r.nodes.length,
  judged: r.judged,
  admitted: admittedCount(r),
  holdMs: r.holdMs,
  ...(r.holdFrom > 0 && r.state === 'running' ? { holdingSince: iso(r.holdFrom) } : {}),
  startedBy: r.startedBy,
  startedAt: iso(r.startedAt),
  owner: r.owner,
  updatedAt: iso(r.updatedAt),
});
const nodeView = (s: NodeConfigState & { desiredRev: number; inSync: boolean }): Static<typeof NodeView> => ({
  node: s.node,
  online: s.online,
  agentVersion: s.agentVersion,
  labels: s.labels,
  configVersions: s.configVersions,
  desiredRev: s.desiredRev,
  inSync: s.inSync,
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
    rollout?: Partial<RolloutOptions> | false,
  ) {
    const node = scope === 'node' ? target : undefined;
    try {
      const r = await fleet.change(scope, target, next, actorLabel(req.principal), rollout);
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
          ...(r.rollout ? { rollout: r.rollout.id, stages: r.rollout.stages, revertsTo: r.rollout.prevRev } : {}),
          ...(r.superseded.length > 0 ? { superseded: r.superseded.map((s) => ({ id: s.id, rev: s.rev })) } : {}),
        },
        remoteAddress: req.ip,
      });
      return {
        layer: layerView(r.layer),
        diff: r.diff as unknown as Record<string, unknown>[],
        sent: r.sent,
        ...(r.rollout ? { rollout: rolloutView(r.rollout) } : {}),
        ...(r.superseded.length > 0 ? { superseded: r.superseded.map((s) => ({ id: s.id, rev: s.rev })) } : {}),
      };
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

  async function refuse(req: FastifyRequest, action: string, err: IngesterError): Promise<never> {
    await audit.record({
      actor: req.principal,
      action,
      outcome: 'refused',
      reason: err.message,
      remoteAddress: req.ip,
    });
    throw err;
  }

  /** Validation refusals are audited too, then answered 400. */
  async function refuseInvalid(req: FastifyRequest, action: string): Promise<void> {
    if (req.validationError)
      await refuse(req, action, new IngesterError('ET_ERR_BAD_REQUEST', req.validationError.message));
  }

  /**
   * A document the collectors' schema refuses is refused here, before it is stored or sent (the
   * schema is protocol's, the one the nodes apply with); what depends on a node's own file (an
   * option that must be a multiple of its scrape interval) is still judged by the node.
   */
  async function refuseUnappliable(req: FastifyRequest, action: string, options: Record<string, unknown>) {
    const problems = remoteOptionsProblems(options);
    if (problems.length > 0)
      await refuse(
        req,
        action,
        new IngesterError('ET_ERR_CONFIG_DOC_INVALID', problems.map((p) => `options.${p}`).join('; ')),
      );
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
    app.get<{ Params: Record<string, string>; Querystring: Static<typeof DiffQuery> }>(
      `${r.url}/diff`,
      {
        config: role('viewer'),
        schema: {
          summary: `What changed between two versions of the ${r.scope} layer (default: the latest against the one before) (viewer)`,
          ...(r.params ? { params: r.params } : {}),
          querystring: DiffQuery,
          response: {
            200: Type.Object({
              from: Type.Integer(),
              to: Type.Integer(),
              diff: Type.Array(Type.Object({}, { additionalProperties: true })),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const versions = await fleet.history(r.scope, r.target(req.params), 1000);
        const to = req.query.to === undefined ? versions[0] : versions.find((v) => v.rev === req.query.to);
        if (to === undefined)
          throw new IngesterError('ET_ERR_NOT_FOUND', `no version ${req.query.to ?? ''} of this layer`);
        const from =
          req.query.from === undefined
            ? versions.find((v) => v.rev < to.rev)
            : versions.find((v) => v.rev === req.query.from);
        if (req.query.from !== undefined && req.query.from !== 0 && from === undefined)
          throw new IngesterError('ET_ERR_NOT_FOUND', `no version ${req.query.from} of this layer`);
        return {
          from: from?.rev ?? 0,
          to: to.rev,
          diff: diffOptions(from?.doc?.options ?? {}, to.doc?.options ?? {}) as unknown as Record<string, unknown>[],
        };
      },
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
        await refuseUnappliable(req, 'config.set', req.body.options);
        // A node's own layer keeps a debug in force: setting options is not ending someone's debug.
        return change(
          req,
          'config.set',
          r.scope,
          r.target(req.params),
          (prev) => (prev?.debug ? { options: req.body.options, debug: prev.debug } : { options: req.body.options }),
          req.body.rollout,
        );
      },
    );
    app.delete<{ Params: Record<string, string>; Querystring: Static<typeof RemoveQuery> }>(
      r.url,
      {
        config: role('admin'),
        attachValidation: true,
        schema: {
          summary: `Remove the ${r.scope} configuration layer (admin)`,
          ...(r.params ? { params: r.params } : {}),
          querystring: RemoveQuery,
          response: { 200: ChangeView, ...errors },
        },
      },
      async (req) => {
        await refuseInvalid(req, 'config.remove');
        return change(
          req,
          'config.remove',
          r.scope,
          r.target(req.params),
          () => undefined,
          req.query.rollout === false ? false : undefined,
        );
      },
    );
  }

  app.get(
    '/api/v1/config/versions',
    {
      config: role('viewer'),
      schema: {
        summary:
          'The fleet grouped by collector version, configuration document versions and effective configuration hash (viewer)',
        response: {
          200: Type.Object({
            groups: Type.Array(
              Type.Object({
                agentVersion: Type.String(),
                configVersions: Type.Array(Type.Integer()),
                effectiveHash: Type.String(),
                nodes: Type.Integer(),
                online: Type.Integer(),
                inSync: Type.Integer(),
                sample: Type.Array(Type.String()),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async () => ({ groups: groupByVersion(await fleet.nodes()) }),
  );

  app.get<{ Querystring: { limit: number } }>(
    '/api/v1/config/rollouts',
    {
      config: role('viewer'),
      schema: {
        summary: 'The latest staged rollouts, newest first (viewer)',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }),
        response: { 200: Type.Object({ rollouts: Type.Array(RolloutView) }), ...errors },
      },
    },
    async (req) => ({ rollouts: (await fleet.rollouts(req.query.limit)).map(rolloutView) }),
  );
  app.get<{ Params: Static<typeof RolloutParams> }>(
    '/api/v1/config/rollouts/:id',
    {
      config: role('viewer'),
      schema: {
        summary: 'One rollout (viewer)',
        params: RolloutParams,
        response: { 200: RolloutView, ...errors },
      },
    },
    async (req) => {
      const r = await fleet.rollout(req.params.id);
      if (!r) throw new IngesterError('ET_ERR_NOT_FOUND', `no rollout ${req.params.id}`);
      return rolloutView(r);
    },
  );
  for (const [verb, act] of [
    ['halt', (id: string) => fleet.halt(id)],
    ['resume', (id: string) => fleet.resume(id)],
  ] as const)
    app.post<{ Params: Static<typeof RolloutParams> }>(
      `/api/v1/config/rollouts/:id/${verb}`,
      {
        config: role('admin'),
        schema: {
          summary:
            verb === 'halt'
              ? 'Stop admitting nodes; those admitted keep the change (admin)'
              : 'Admit nodes again from the stage reached, its health judged anew (admin)',
          params: RolloutParams,
          response: { 200: RolloutView, ...errors },
        },
      },
      async (req) => {
        const action = `config.rollout_${verb}`;
        try {
          const r = await act(req.params.id);
          await audit.record({
            actor: req.principal,
            action,
            outcome: 'ok',
            detail: { rollout: r.id, scope: r.scope, target: r.target, rev: r.rev, stage: r.stage },
            remoteAddress: req.ip,
          });
          return rolloutView(r);
        } catch (err) {
          // No such rollout: nothing was asked of anything.
          if (err instanceof IngesterError && err.code === 'ET_ERR_NOT_FOUND') throw err;
          await audit.record({
            actor: req.principal,
            action,
            outcome: 'failed',
            reason: (err as Error).message,
            detail: { rollout: req.params.id },
            remoteAddress: req.ip,
          });
          throw err;
        }
      },
    );

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
