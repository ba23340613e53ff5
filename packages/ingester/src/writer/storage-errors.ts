/**
 * Which ClickHouse failures are worth retrying. Only errors caused by the inserted rows themselves
 * are permanent: the same rows fail the same way however often they are sent. Everything else
 * (network, timeouts, too many parts, memory, a missing table or column during a deploy, and
 * anything unknown) is retried with backpressure, because giving up there would turn an outage
 * into lost batches.
 */

/** ClickHouse error types a bad row causes (ErrorCodes.cpp names, as the client parses them). */
const ROW_ERRORS = new Set([
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  'CANNOT_PARSE_TEXT',
  'CANNOT_PARSE_NUMBER',
  'CANNOT_PARSE_DATE',
  'CANNOT_PARSE_DATETIME',
  'CANNOT_PARSE_QUOTED_STRING',
  'CANNOT_PARSE_ESCAPE_SEQUENCE',
  'CANNOT_PARSE_BOOL',
  'CANNOT_PARSE_UUID',
  'CANNOT_READ_ARRAY_FROM_TEXT',
  'CANNOT_READ_MAP_FROM_TEXT',
  'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN',
  'INCORRECT_DATA',
  'INCORRECT_NUMBER_OF_COLUMNS',
  'TYPE_MISMATCH',
  'CANNOT_CONVERT_TYPE',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  'DECIMAL_OVERFLOW',
  'TOO_LARGE_STRING_SIZE',
  'TOO_LARGE_ARRAY_SIZE',
  'SIZES_OF_ARRAYS_DONT_MATCH',
]);

/**
 * TOO_MANY_PARTS is an overloaded server that recovers, except for this message: the rows span
 * more partitions (days) than one insert may, which a smaller insert fixes.
 */
const TOO_MANY_PARTITIONS = /partitions for (a )?single insert block/i;

/** True when retrying the same rows cannot succeed. */
export function isRowError(err: unknown): boolean {
  // Duck-typed: chdb and the client each bundle their own ClickHouseError class.
  const type = typeof err === 'object' && err !== null && 'type' in err ? (err as { type: unknown }).type : undefined;
  if (typeof type !== 'string') return false;
  if (type === 'TOO_MANY_PARTS') return TOO_MANY_PARTITIONS.test((err as Error).message);
  return ROW_ERRORS.has(type);
}
