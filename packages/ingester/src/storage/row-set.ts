/**
 * Sets of keys for `(a, b, c) IN (...)`: one string literal read by the format() table function,
 * not a literal tuple per key. ClickHouse parses and analyses a literal list as a syntax tree of a
 * node per value: the claim check, two such lists of a group's keys, cost the engine 60-170 ms of
 * CPU per 1,700 keys for that alone (with format(): 10-20 ms, of which about 5 ms is any
 * statement's), more than the claims insert before it (issue 21). The set it builds is the same,
 * and ClickHouse uses a subquery's set for the primary key as it does a literal list's.
 */
import { sqlString } from './insert.js';

/**
 * One key of a set: its JSONCompactEachRow line, escaped for the literal it goes in, so that its
 * length is what it adds to the statement (a caller that splits a long set counts it).
 */
export const setRow = (values: readonly (string | number)[]): string => sqlString(JSON.stringify(values)).slice(1, -1);

/**
 * The keys of `rows` (setRow's lines) as a subquery; `columns` names them with the types of the
 * table's columns they are compared with: 'NodeName String, Epoch UInt64, Seq UInt64'.
 */
export function rowSet(columns: string, rows: readonly string[]): string {
  return `SELECT * FROM format(JSONCompactEachRow, ${sqlString(columns)}, '${rows.join('\n')}')`;
}
