/**
 * The audit trail: every log pull and every admin action, with who (token id and name, never the
 * secret), what, when and the outcome. It shares the log-pull audit table (migration 0003): a pull
 * row carries its pull id and filter, an admin row its action name ('token.create', ...) and the
 * details as JSON in the same column.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { COLUMNS, TABLES } from '../storage/tables.js';
import type { Principal } from './roles.js';

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditEntry {
  /** The caller; undefined for the system itself (expiry, start-up). */
  actor: Principal | undefined;
  /** What was done: 'pull.request', 'token.create', 'token.revoke', 'forbidden', ... */
  action: string;
  outcome: AuditOutcome;
  /** Why it was refused or failed, or a short note. */
  reason?: string;
  /** What it was done to, as plain data (token id, route, filter). Kept as JSON, 4 KiB at most. */
  detail?: Record<string, unknown>;
  node?: string;
  pullId?: string;
  remoteAddress?: string;
  lines?: number;
  bytes?: number;
}

export interface AuditRecord {
  at: string;
  who: string;
  action: string;
  accepted: boolean;
  reason: string;
  node: string;
  pullId: string;
  detail: unknown;
  remoteAddress: string;
}

export interface AuditQuery {
  from: number;
  to: number;
  limit: number;
  action?: string;
}

export interface AuditLog {
  /** Writes one row; resolves once ClickHouse has it. */
  record(e: AuditEntry): Promise<void>;
  /** Newest first. */
  list(q: AuditQuery): Promise<AuditRecord[]>;
}

const MAX_TEXT = 4096;

/** Nesting kept in an audit row's detail; deeper values are written as "…". */
const MAX_DEPTH = 8;
/** Keys or items kept per object or array. */
const MAX_ITEMS = 64;

/**
 * JSON of a request's detail as far as an audit row needs it: a hostile body nested 100,000
 * levels deep would overflow JSON.stringify's stack (and the refusal would go unaudited), so
 * nesting, breadth and strings are cut before it is written.
 */
export function boundedJson(value: unknown): string {
  const cut = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_DEPTH) return '…';
    if (Array.isArray(v)) return v.slice(0, MAX_ITEMS).map((x) => cut(x, depth + 1));
    return Object.fromEntries(
      Object.entries(v)
        .slice(0, MAX_ITEMS)
        .map(([k, x]) => [k, cut(x, depth + 1)]),
    );
  };
  return JSON.stringify(cut(value, 0)) ?? 'null';
}

/** `name (id)`: readable, and unique even when two tokens share a name. */
export const actorLabel = (p: Principal | undefined): string => (p ? `${p.name} (${p.id})` : 'system');

export function createAuditLog(deps: { client: ClickHouseClient; now?: () => number }): AuditLog {
  const { client } = deps;
  const now = deps.now ?? Date.now;
  return {
    async record(e) {
      const detail = boundedJson({
        ...(e.actor ? { actorId: e.actor.id, actorRole: e.actor.role } : {}),
        ...e.detail,
      }).slice(0, MAX_TEXT);
      await client.insert({
        table: TABLES.audit,
        columns: [...COLUMNS.audit],
        values: [
          [
            now(),
            e.pullId ?? '',
            e.node ?? '',
            actorLabel(e.actor),
            e.action,
            e.outcome === 'ok' ? 1 : 0,
            `${e.outcome}${e.reason ? `: ${e.reason}` : ''}`.slice(0, MAX_TEXT),
            detail,
            e.lines ?? 0,
            e.bytes ?? 0,
            e.remoteAddress ?? '',
          ],
        ],
        format: 'JSONCompactEachRow',
        clickhouse_settings: { insert_deduplication_token: '' },
      });
    },
    async list(q) {
      const rs = await client.query({
        query: `SELECT toUnixTimestamp64Milli(At) AS AtMs, RequestedBy, Action, Accepted, Reason, NodeName, PullId, Filter, RemoteAddress
          FROM ${TABLES.audit}
          WHERE At >= fromUnixTimestamp64Milli({from:Int64}) AND At <= fromUnixTimestamp64Milli({to:Int64})${q.action ? ' AND Action = {action:String}' : ''}
          ORDER BY At DESC LIMIT {limit:UInt32}`,
        query_params: { from: q.from, to: q.to, limit: q.limit, ...(q.action ? { action: q.action } : {}) },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const rows = await rs.json<{
        AtMs: number;
        RequestedBy: string;
        Action: string;
        Accepted: number;
        Reason: string;
        NodeName: string;
        PullId: string;
        Filter: string;
        RemoteAddress: string;
      }>();
      return rows.map((r) => ({
        at: new Date(Number(r.AtMs)).toISOString(),
        who: r.RequestedBy,
        action: r.Action,
        accepted: Number(r.Accepted) === 1,
        reason: r.Reason,
        node: r.NodeName,
        pullId: r.PullId,
        detail: parseDetail(r.Filter),
        remoteAddress: r.RemoteAddress,
      }));
    },
  };
}

/** Detail as stored: JSON, possibly cut at 4 KiB (then kept as text). */
function parseDetail(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}
