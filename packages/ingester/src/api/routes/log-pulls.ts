/**
 * The log-pull API (v1): start a pull on a node, watch it, read its lines (streamed as they
 * arrive), cancel it. Every request to start one is audited, refused ones included.
 *
 * Every route needs the engineer role (pulled lines are raw logs): the auth plugin (auth/) checks
 * the bearer token before the handler runs, and audits a refusal; the handler audits the rest.
 * Cancelling also needs to be the pull's requester or an admin (pull/permissions.ts).
 */
import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LOG_LEVEL_NAMES, limits, type PullFilter } from '@edge-telemetry/protocol';
import { IngesterError } from '../../errors.js';
import type { PullCoordinator } from '../../pull/coordinator.js';
import { splitPulledLine } from '../../pull/line-rows.js';
import { parsePullTime } from '../../pull/filter.js';
import type { PullRecord } from '../../pull/repository.js';
import { ROUTE_ERRORS } from '../schemas.js';

export interface LogPullRouteDeps {
  coordinator: PullCoordinator;
  now?: () => number;
}

const TimeValue = Type.Union(
  [Type.Integer({ minimum: 0, maximum: limits.maxTimestampMs }), Type.String({ minLength: 1, maxLength: 64 })],
  {
    description: 'Epoch ms, ISO-8601, or a duration back from now (2h, 30m).',
  },
);
const Level = Type.Union(LOG_LEVEL_NAMES.map((l) => Type.Literal(l)));

export const CreatePullBody = Type.Object(
  {
    container: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    since: TimeValue,
    until: Type.Optional(TimeValue),
    tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    level: Type.Optional(Level),
    grep: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Substring the line must contain, as it is sent: redacted when the node redacts pulls.',
      }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Stop after this many raw line bytes.',
      }),
    ),
    expiresInS: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "How long to wait for an offline node (default: the ingester's pull.expiresInMs).",
      }),
    ),
  },
  { additionalProperties: false },
);
type CreatePullBodyT = Static<typeof CreatePullBody>;

const PullParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
type PullParamsT = Static<typeof PullParams>;
const NodeParams = Type.Object({ node: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }) });
type NodeParamsT = Static<typeof NodeParams>;
const LinesQuery = Type.Object({
  follow: Type.Optional(Type.Boolean({ default: false, description: 'Keep the response open until the pull ends.' })),
  from: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description:
        "Skip the pull's first `from` lines, those the client has already: where a cut stream resumes (`logs pull --id <id> --from <n>`) and where the web page, which shows only the newest lines, starts.",
    }),
  ),
});
type LinesQueryT = Static<typeof LinesQuery>;

const State = Type.Union(['queued', 'running', 'done', 'failed', 'expired', 'cancelled'].map((s) => Type.Literal(s)));
export const PullStatus = Type.Object({
  id: Type.String(),
  node: Type.String(),
  state: State,
  linesReceived: Type.Integer(),
  bytesReceived: Type.Integer(),
  bytesExpected: Type.Optional(Type.Integer()),
  chunksExpected: Type.Optional(Type.Integer()),
  requestedBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  error: Type.Optional(Type.String()),
  filter: Type.Object({}, { additionalProperties: true }),
});

const errors = ROUTE_ERRORS;
/** Pulling and reading a node's raw logs needs the engineer role (auth/access.ts). */
const engineer = { role: 'engineer' as const };
const LINES_PER_READ_CHUNKS = 64;
const FOLLOW_POLL_MS = 1000;

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function status(r: PullRecord): Static<typeof PullStatus> {
  return {
    id: r.id,
    node: r.node,
    state: r.state,
    linesReceived: r.linesReceived,
    bytesReceived: r.bytesReceived,
    ...(r.bytesExpected !== undefined ? { bytesExpected: r.bytesExpected } : {}),
    ...(r.chunksExpected !== undefined ? { chunksExpected: r.chunksExpected } : {}),
    requestedBy: r.requestedBy,
    createdAt: iso(r.createdAt) as string,
    expiresAt: iso(r.expiresAt) as string,
    ...(r.startedAt !== undefined ? { startedAt: iso(r.startedAt) } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: iso(r.finishedAt) } : {}),
    ...(r.error ? { error: r.error } : {}),
    filter: { ...r.filter },
  };
}

function toFilter(b: CreatePullBodyT, now: number): PullFilter {
  const since = parsePullTime(b.since, 'since', now);
  if (since >= now)
    throw new IngesterError('ET_ERR_BAD_REQUEST', `since (${new Date(since).toISOString()}) is in the future`);
  const until = b.until === undefined ? undefined : parsePullTime(b.until, 'until', now);
  if (until !== undefined && until <= since)
    throw new IngesterError(
      'ET_ERR_BAD_REQUEST',
      `until (${new Date(until).toISOString()}) must be after since (${new Date(since).toISOString()})`,
    );
  return {
    since,
    ...(until !== undefined ? { until } : {}),
    ...(b.container ? { container: b.container } : {}),
    ...(b.tail ? { tail: b.tail } : {}),
    ...(b.level ? { level: b.level } : {}),
    ...(b.grep ? { grep: b.grep } : {}),
    ...(b.maxBytes ? { maxBytes: b.maxBytes } : {}),
  };
}

export async function logPullRoutes(app: FastifyInstance, deps: LogPullRouteDeps): Promise<void> {
  const { coordinator } = deps;
  const now = deps.now ?? Date.now;

  app.post<{ Params: NodeParamsT; Body: CreatePullBodyT }>(
    '/api/v1/nodes/:node/log-pulls',
    {
      config: engineer,
      attachValidation: true,
      schema: {
        summary: "Pull a node's full logs for a time range (asynchronous)",
        params: NodeParams,
        body: CreatePullBody,
        response: { 202: Type.Object({ id: Type.String() }), ...errors },
      },
    },
    async (req, reply) => {
      const base = {
        node: req.params.node ?? '',
        actor: req.principal,
        remoteAddress: req.ip,
        filter: req.body as unknown,
      };
      try {
        if (req.validationError) throw new IngesterError('ET_ERR_BAD_REQUEST', req.validationError.message);
        const expiresInMs = req.body.expiresInS === undefined ? undefined : req.body.expiresInS * 1000;
        const r = await coordinator.create({
          node: req.params.node,
          filter: toFilter(req.body, now()),
          actor: req.principal,
          remoteAddress: req.ip,
          expiresInMs,
        });
        return await reply.status(202).send({ id: r.id });
      } catch (err) {
        // Every refusal is in the audit trail, with its code; a storage failure is not a refusal.
        if (err instanceof IngesterError && err.statusCode < 500)
          await coordinator.refuse({ ...base, reason: `${err.code}: ${err.message}` });
        throw err;
      }
    },
  );

  async function found(id: string): Promise<PullRecord> {
    const r = await coordinator.get(id);
    if (!r) throw new IngesterError('ET_ERR_NOT_FOUND', `no log pull ${id}`);
    return r;
  }

  app.get<{ Params: PullParamsT }>(
    '/api/v1/log-pulls/:id',
    {
      config: engineer,
      schema: {
        summary: 'State and progress of a log pull',
        params: PullParams,
        response: { 200: PullStatus, ...errors },
      },
    },
    async (req) => status(await found(req.params.id)),
  );

  app.delete<{ Params: PullParamsT }>(
    '/api/v1/log-pulls/:id',
    {
      config: engineer,
      schema: {
        summary:
          'Cancel a log pull, on the node too: the token that requested it or an admin (others: 403 ET_ERR_PULL_NOT_REQUESTER)',
        params: PullParams,
        response: { 200: PullStatus, ...errors },
      },
    },
    async (req) => {
      // The requester or an admin only: the coordinator refuses (403) and audits anyone else.
      const r = await coordinator.cancel(req.params.id, req.principal, req.ip);
      if (!r) throw new IngesterError('ET_ERR_NOT_FOUND', `no log pull ${req.params.id}`);
      return status(r);
    },
  );

  app.get<{ Params: PullParamsT; Querystring: LinesQueryT }>(
    '/api/v1/log-pulls/:id/lines',
    {
      config: engineer,
      schema: {
        summary:
          'The pulled lines in order, streamed as they arrive: text/plain (one line each) or NDJSON (Accept: application/x-ndjson)',
        params: PullParams,
        querystring: LinesQuery,
        response: { 200: { description: 'text/plain or application/x-ndjson', type: 'string' }, ...errors },
      },
    },
    async (req, reply) => {
      await found(req.params.id);
      const ndjson = /application\/(x-)?ndjson|application\/json/.test(req.headers.accept ?? '');
      const id = req.params.id;
      // A follow ends when its client goes away (the response closes) or the ingester stops;
      // otherwise it would poll until the pull ends, up to its expiry days later.
      const follow = req.query.follow === true ? coordinator.follow() : undefined;
      // Every end of the response comes here, the ingester's stop included (below): one abort.
      const stop = new AbortController();
      reply.raw.once('close', () => {
        stop.abort();
        follow?.end();
      });
      // The ingester stops (its follows are aborted first): the response is cut, not ended. Ended,
      // its chunked terminator told every client (CLI, web page, curl) that it had the whole pull
      // when it had what arrived so far; and a client that stopped reading (a pager) held the
      // stop, and with it the orderly drain, until it read on (outsider, session 13: 57 s).
      follow?.signal.addEventListener('abort', () => reply.raw.destroy(), { once: true });
      async function* body(): AsyncGenerator<string> {
        // A follow may wait long for its first line: the client should know at once that it is on.
        if (follow) reply.raw.flushHeaders();
        let seq = -1;
        let skip = req.query.from ?? 0;
        for (;;) {
          if (stop.signal.aborted) return;
          const p = await coordinator.progress(id);
          if (!p) return;
          if (seq < 0) ({ seq, skip } = await coordinator.resumePoint(id, skip, p.contiguous));
          while (seq < p.contiguous) {
            const { lines: read, toSeq: to } = await coordinator.readLines(
              id,
              seq,
              Math.min(p.contiguous, seq + LINES_PER_READ_CHUNKS),
            );
            // The rest of `from` not skipped by whole chunks: the first lines of the first chunks read.
            const lines = skip > 0 ? read.slice(skip) : read;
            skip = Math.max(0, skip - read.length);
            if (lines.length > 0)
              yield ndjson
                ? lines.map((l) => JSON.stringify(splitPulledLine(l)) + '\n').join('')
                : lines.join('\n') + '\n';
            seq = to;
          }
          if (p.terminal || !follow) return;
          await coordinator.changed(id, FOLLOW_POLL_MS, stop.signal);
        }
      }

      // One read ahead of the socket: Readable.from's default is 16, so a client that reads slowly
      // (a pager, a thin link) had 16 reads of lines (each up to 256 MiB then) held for it.
      return reply
        .type(ndjson ? 'application/x-ndjson' : 'text/plain; charset=utf-8')
        .send(Readable.from(body(), { highWaterMark: 1 }));
    },
  );
}
