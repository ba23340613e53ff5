/**
 * Configuration documents in ClickHouse: every version is a row (et_config_docs, migration 12); the
 * latest row of each (scope, target) is the layer in force. Revisions are numbers that only grow
 * across all scopes: the next is above both the highest stored and the clock in ms, so two
 * ingesters changing documents at once still give each change its own, later revision.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { configHash, type ConfigDocument } from '@edge-telemetry/protocol';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';
import type { Layer, Scope } from './layers.js';

export interface ConfigDocuments {
  /** The latest layer of every scope and target (removed ones included: their revision counts). */
  latest(): Promise<Layer[]>;
  /** Every version of one layer, newest first. */
  history(scope: Scope, target: string, limit: number): Promise<Layer[]>;
  /** The next revision (a rollout is stored under it before its layer version, so no node sees one without the other). */
  nextRev(): Promise<number>;
  /** Stores a new version (doc undefined: removed) at `rev` or the next revision; resolves with it. */
  put(scope: Scope, target: string, doc: ConfigDocument | undefined, by: string, rev?: number): Promise<Layer>;
}

interface Row {
  Scope: Scope;
  Target: string;
  Rev: string | number;
  Doc: string;
  DocHash: string;
  Deleted: number;
  CreatedBy: string;
  CreatedAtMs: string | number;
}

const toLayer = (r: Row): Layer => ({
  scope: r.Scope,
  target: r.Target,
  rev: Number(r.Rev),
  doc: Number(r.Deleted) === 1 ? undefined : (JSON.parse(r.Doc) as ConfigDocument),
  docHash: r.DocHash,
  createdBy: r.CreatedBy,
  createdAt: Number(r.CreatedAtMs),
});

const COLUMNS_SQL =
  'Scope, Target, Rev, Doc, DocHash, Deleted, CreatedBy, toUnixTimestamp64Milli(CreatedAt) AS CreatedAtMs';

export function createConfigDocuments(deps: { client: ClickHouseClient; now?: () => number }): ConfigDocuments {
  const { client } = deps;
  const now = deps.now ?? Date.now;
  let lastRev = 0;

  async function rows(query: string, params: Record<string, unknown> = {}): Promise<Layer[]> {
    const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
    return (await rs.json<Row>()).map(toLayer);
  }

  async function nextRev(): Promise<number> {
    const rs = await client.query({ query: `SELECT max(Rev) AS m FROM ${TABLES.configDocs}`, format: 'JSONEachRow' });
    const [{ m } = { m: 0 }] = await rs.json<{ m: string | number }>();
    lastRev = Math.max(Number(m) + 1, lastRev + 1, now());
    return lastRev;
  }

  return {
    latest: () =>
      rows(`SELECT ${COLUMNS_SQL} FROM ${TABLES.configDocs} ORDER BY Scope, Target, Rev DESC LIMIT 1 BY Scope, Target`),
    history: (scope, target, limit) =>
      rows(
        `SELECT ${COLUMNS_SQL} FROM ${TABLES.configDocs} WHERE Scope = {scope:String} AND Target = {target:String} ORDER BY Rev DESC LIMIT {limit:UInt32}`,
        { scope, target, limit },
      ),
    nextRev,
    async put(scope, target, doc, by, given) {
      const rev = given ?? (await nextRev());
      const at = now();
      const layer: Layer = {
        scope,
        target,
        rev,
        doc,
        docHash: doc ? configHash(doc) : '',
        createdBy: by,
        createdAt: at,
      };
      await insertRows(client, 'configDocs', [
        [scope, target, rev, doc ? JSON.stringify(doc) : '', layer.docHash, doc ? 0 : 1, by, at],
      ]);
      return layer;
    },
  };
}
