/**
 * Cluster mode: the same migration statements rendered for a ClickHouse cluster. Each table is
 * created ON CLUSTER as `<name>_local` with the Replicated variant of its engine, and a
 * Distributed table under the original name (sharded by node, so one node's rows stay on one
 * shard and per-node queries touch one shard) lets the writer and the API keep their SQL.
 * Materialized views read and write the local tables, and so do DROP and TRUNCATE; ALTER TABLE runs
 * on both the local and the Distributed table (a projection: the local one only); a backfill
 * (INSERT ... SELECT) runs once through the Distributed tables. Pure text transforms over our own DDL.
 */
import { sqlString } from './insert.js';

const ENGINES = /ENGINE = (MergeTree|ReplacingMergeTree|AggregatingMergeTree)(\(([^)]*)\))?/;

function localName(name: string): string {
  return `${name}_local`;
}

/** Every table name of ours in a statement, renamed to its local table. */
function localize(sql: string): string {
  return sql.replace(/\b(et_[a-z0-9_]+|schema_migrations)\b/g, (n) => localName(n));
}

export function renderForCluster(statement: string, cluster: string): string[] {
  const on = `ON CLUSTER ${sqlString(cluster)}`;
  const table = /^\s*CREATE TABLE IF NOT EXISTS (\w+)/.exec(statement)?.[1];
  const view = /^\s*CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)/.exec(statement)?.[1];
  if (table) {
    const local = localize(statement)
      .replace(`CREATE TABLE IF NOT EXISTS ${localName(table)}`, `CREATE TABLE IF NOT EXISTS ${localName(table)} ${on}`)
      .replace(ENGINES, (_m, engine: string, _p: string | undefined, args: string | undefined) => {
        const replication = `'/clickhouse/tables/{shard}/{database}/${localName(table)}', '{replica}'`;
        return `ENGINE = Replicated${engine}(${[replication, args].filter((a) => a && a.trim() !== '').join(', ')})`;
      });
    const key = /\bNodeName\b/.test(statement) ? 'cityHash64(NodeName)' : 'rand()';
    const distributed = `CREATE TABLE IF NOT EXISTS ${table} ${on} AS ${localName(table)} ENGINE = Distributed(${sqlString(cluster)}, currentDatabase(), ${localName(table)}, ${key})`;
    return [local, distributed];
  }
  if (view)
    return [
      localize(statement).replace(
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${localName(view)}`,
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${localName(view)} ${on}`,
      ),
    ];
  // Views and data live in the local tables; a dropped table takes its Distributed table along.
  const drop = /^\s*(DROP VIEW|TRUNCATE TABLE|DROP TABLE) IF EXISTS (\w+)\s*$/.exec(statement);
  if (drop) {
    const verb = drop[1] as string;
    const name = drop[2] as string;
    const local = `${verb} IF EXISTS ${localName(name)} ${on}`;
    return verb === 'DROP TABLE' ? [`${verb} IF EXISTS ${name} ${on}`, local] : [local];
  }
  // A column goes into the local tables and the Distributed tables over them alike; a sorting key
  // and a projection exist only in the local tables.
  const alter = /^\s*ALTER TABLE (\w+) (.*)$/s.exec(statement);
  if (alter) {
    const name = alter[1] as string;
    const change = alter[2] as string;
    const local = `ALTER TABLE ${localName(name)} ${on} ${change}`;
    if (/\bPROJECTION\b/.test(change)) return [local];
    const distributed = change.replace(/,\s*MODIFY ORDER BY \([^)]*\)\s*$/, '');
    return [local, `ALTER TABLE ${name} ${on} ${distributed}`];
  }
  // INSERT ... SELECT (backfills) runs once, through the Distributed tables, which shard it by node.
  return [statement];
}
