/**
 * A decoded batch as the insert bodies of its tables, built once when the batch arrives: the
 * embedded engine runs one statement at a time, so encoding done while an earlier insert runs is
 * hidden, and a flush (and every retry of it) only hands ready text over. The text is one flat
 * string per table, which also keeps the garbage collector's work small while batches wait.
 */
import type { Batch } from '@edge-telemetry/protocol';
import { batchToRows, type BatchMeta } from './rows.js';
import { rowsToText } from './insert.js';
import { BATCH_TABLES, type BatchTable } from './tables.js';

export interface BatchText {
  /** Insert body per table ('' when the batch has no rows for it). */
  text: Record<BatchTable, string>;
  rows: Record<BatchTable, number>;
  /** Data rows (the ledger row not counted). */
  rowCount: number;
  /** Characters of text, for the writer's memory bound. */
  bytes: number;
}

export function batchToText(b: Batch, meta: BatchMeta): BatchText {
  const { rows, rowCount } = batchToRows(b, meta);
  const text = {} as Record<BatchTable, string>;
  const counts = {} as Record<BatchTable, number>;
  let bytes = 0;
  for (const t of BATCH_TABLES) {
    text[t] = rowsToText(rows[t]);
    counts[t] = rows[t].length;
    bytes += text[t].length;
  }
  return { text, rows: counts, rowCount, bytes };
}
