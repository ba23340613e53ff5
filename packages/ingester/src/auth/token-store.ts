/**
 * API tokens: created with a role, listed without secrets, revoked. ClickHouse holds them (hashed);
 * requests are checked against an in-memory copy refreshed every `cacheMs`, so a request costs a
 * hash and a map lookup. The bootstrap admin token lives only in memory, as a hash.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import { hashToken, newTokenId, newTokenSecret } from './secret.js';
import { isRole, type Principal, type Role } from './roles.js';
import { COLUMNS, TABLES } from '../storage/tables.js';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  expiresAt?: number;
  revokedAt?: number;
  revokedBy?: string;
}

export interface TokenStore {
  /** The caller a secret belongs to, or undefined (unknown, revoked or expired). */
  verify(secret: string): Promise<Principal | undefined>;
  /** A new token; its secret is returned here once and never again. */
  create(input: {
    name: string;
    role: Role;
    createdBy: string;
    expiresAt?: number;
  }): Promise<{ token: string; record: TokenRecord }>;
  list(): Promise<TokenRecord[]>;
  /** The revoked token, or undefined when there is no such token. */
  revoke(id: string, by: string): Promise<TokenRecord | undefined>;
}

export interface TokenStoreDeps {
  client: ClickHouseClient;
  /** Secret of the bootstrap admin (memory only). */
  bootstrapSecret: string;
  cacheMs: number;
  now?: () => number;
}

const MISS_RELOAD_MS = 1000;

export const BOOTSTRAP_PRINCIPAL: Principal = { id: 'bootstrap', name: 'bootstrap-admin', role: 'admin' };

interface TokenRow {
  TokenId: string;
  Name: string;
  Role: string;
  TokenHash: string;
  CreatedMs: number;
  CreatedBy: string;
  ExpiresMs: number | null;
  RevokedMs: number | null;
  RevokedBy: string;
}

function fromRow(r: TokenRow): TokenRecord & { hash: string } {
  if (!isRole(r.Role)) throw new IngesterError('ET_ERR_INTERNAL', `token ${r.TokenId} has unknown role ${r.Role}`);
  return {
    id: r.TokenId,
    name: r.Name,
    role: r.Role,
    hash: r.TokenHash,
    createdAt: Number(r.CreatedMs),
    createdBy: r.CreatedBy,
    ...(r.ExpiresMs !== null ? { expiresAt: Number(r.ExpiresMs) } : {}),
    ...(r.RevokedMs !== null ? { revokedAt: Number(r.RevokedMs), revokedBy: r.RevokedBy } : {}),
  };
}

export function createTokenStore(deps: TokenStoreDeps): TokenStore {
  const { client, cacheMs } = deps;
  const now = deps.now ?? Date.now;
  const bootstrapHash = hashToken(deps.bootstrapSecret);
  let byId = new Map<string, TokenRecord & { hash: string }>();
  let byHash = new Map<string, TokenRecord & { hash: string }>();
  let loadedAt = -Infinity;
  let loading: Promise<void> | undefined;

  function index(records: (TokenRecord & { hash: string })[]): void {
    byId = new Map(records.map((r) => [r.id, r]));
    byHash = new Map(records.filter((r) => r.revokedAt === undefined).map((r) => [r.hash, r]));
  }

  async function load(): Promise<void> {
    const rs = await client.query({
      query: `SELECT TokenId, Name, Role, TokenHash, toUnixTimestamp64Milli(CreatedAt) AS CreatedMs, CreatedBy,
        if(ExpiresAt IS NULL, NULL, toUnixTimestamp64Milli(assumeNotNull(ExpiresAt))) AS ExpiresMs,
        if(RevokedAt IS NULL, NULL, toUnixTimestamp64Milli(assumeNotNull(RevokedAt))) AS RevokedMs, RevokedBy
        FROM ${TABLES.tokens} FINAL ORDER BY CreatedMs`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    index((await rs.json<TokenRow>()).map(fromRow));
    loadedAt = now();
  }

  /** Fresh enough tokens; concurrent callers share one load. */
  async function current(): Promise<void> {
    if (now() - loadedAt < cacheMs) return;
    loading ??= load().finally(() => (loading = undefined));
    await loading;
  }

  async function save(r: TokenRecord & { hash: string }): Promise<void> {
    await client.insert({
      table: TABLES.tokens,
      columns: [...COLUMNS.tokens],
      values: [
        [
          r.id,
          r.name,
          r.role,
          r.hash,
          r.createdAt,
          r.createdBy,
          r.expiresAt ?? null,
          r.revokedAt ?? null,
          r.revokedBy ?? '',
          now(),
        ],
      ],
      format: 'JSONCompactEachRow',
      // See storage/insert.ts: a deduplication token left on the embedded session must not drop this row.
      clickhouse_settings: { insert_deduplication_token: '' },
    });
  }

  const strip = ({ hash: _hash, ...r }: TokenRecord & { hash: string }): TokenRecord => r;

  return {
    async verify(secret) {
      const hash = hashToken(secret);
      if (hash === bootstrapHash) return BOOTSTRAP_PRINCIPAL;
      await current();
      let r = byHash.get(hash);
      // A token made through another ingester a moment ago: look again, at most once a second, so
      // a stream of wrong tokens costs one query per second, not one per request.
      if (!r && now() - loadedAt >= MISS_RELOAD_MS) {
        loading ??= load().finally(() => (loading = undefined));
        await loading;
        r = byHash.get(hash);
      }
      if (!r || (r.expiresAt !== undefined && r.expiresAt <= now())) return undefined;
      return { id: r.id, name: r.name, role: r.role };
    },
    async create(input) {
      const token = newTokenSecret();
      const r = {
        id: newTokenId(),
        name: input.name,
        role: input.role,
        hash: hashToken(token),
        createdAt: now(),
        createdBy: input.createdBy,
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      };
      await save(r);
      await current();
      byId.set(r.id, r);
      byHash.set(r.hash, r);
      return { token, record: strip(r) };
    },
    async list() {
      await current();
      return [...byId.values()].map(strip);
    },
    async revoke(id, by) {
      // Read through the cache: a token made on another ingester moments ago must be revocable here.
      await load();
      const r = byId.get(id);
      if (!r) return undefined;
      if (r.revokedAt !== undefined) return strip(r);
      const revoked = { ...r, revokedAt: now(), revokedBy: by };
      await save(revoked);
      byId.set(id, revoked);
      byHash.delete(r.hash);
      return strip(revoked);
    },
  };
}
