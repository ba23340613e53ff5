/**
 * Bounds on the HTTP API's reads (the `reads` section of the ingester's config): how long and how
 * much one statement may read, how a log search is cut into slices, how many reads share the engine.
 * They keep any one client's reads from holding the writer (read-scheduler.ts says how).
 */
import { Type, type Static } from '@sinclair/typebox';

export const ReadOptions = Type.Object(
  {
    statementMs: Type.Integer({
      minimum: 10,
      maximum: 600_000,
      default: 5000,
      description:
        "Longest an API read statement may run (its SETTINGS max_execution_time, on the embedded engine and on a server alike); a read that needs longer answers 422 ET_ERR_READ_LIMIT (narrow the range or filter). Log-search slices are bounded tighter (sliceMs). The metric, span, template, node and fleet reads are one statement each: the writer's next statement may wait behind one of them for up to this long, and their routes bound their ranges and rows, so they take tens of ms at the sizes measured (ingester.api_*).",
    }),
    statementBytes: Type.Integer({
      minimum: 65_536,
      default: 512 * 1024 * 1024,
      description:
        'Most uncompressed bytes an API read statement may read (SETTINGS max_bytes_to_read); beyond it as for statementMs.',
    }),
    sliceMs: Type.Integer({
      minimum: 5,
      maximum: 60_000,
      default: 100,
      description:
        'A log search reads its range newest first in time slices, each sized to take about this long (doubled after a quick one, halved after a slow one); a slice that runs past twice this is stopped and read again in halves. The writer waits behind at most one slice.',
    }),
    searchMs: Type.Integer({
      minimum: 10,
      maximum: 600_000,
      default: 2000,
      description:
        'Time a log search may take over all its slices; then it answers the rows found with `partial: true` and `searchedFrom` (ask again with to=searchedFrom for the rest).',
    }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 1,
      description:
        'API read statements running at once (the embedded engine runs one statement at a time anyway; a server runs more). Waiting reads take turns by token, one statement each, and each waits for the statements the writer and the rest of the ingester have in flight.',
    }),
    waitingPerToken: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 8,
      description:
        'Reads one API token may have waiting for the engine; one more is refused with 429 ET_ERR_TOO_MANY_READS (counted in et_ingester_api_reads_refused_total).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type ReadOptionsT = Static<typeof ReadOptions>;
