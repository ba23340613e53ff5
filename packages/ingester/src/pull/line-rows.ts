/**
 * A pulled line (`<ISO time>\t<container>\t<stream>\t<LEVEL>\t<message>`, the collector's
 * pull/line-format.ts) as a row of et_pulled_lines. A line that does not have that shape is kept
 * whole, with time 0, rather than dropped: the digest covers it.
 */
export interface PulledLineRow {
  ts: number;
  container: string;
  stream: string;
  level: string;
  message: string;
}

export function splitPulledLine(line: string): PulledLineRow {
  const a = line.indexOf('\t');
  const b = a < 0 ? -1 : line.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : line.indexOf('\t', b + 1);
  const d = c < 0 ? -1 : line.indexOf('\t', c + 1);
  const ts = a < 0 ? NaN : Date.parse(line.slice(0, a));
  if (d < 0 || !Number.isFinite(ts)) return { ts: 0, container: '', stream: '', level: '', message: line };
  return {
    ts,
    container: line.slice(a + 1, b),
    stream: line.slice(b + 1, c),
    level: line.slice(c + 1, d),
    message: line.slice(d + 1),
  };
}

/** Rows of one chunk in the column order of COLUMNS.pulledLines (storage/tables.ts). */
export function chunkRows(pullId: string, seq: number, lines: readonly string[], insertedAtS: number): unknown[][] {
  return lines.map((line, idx) => {
    const r = splitPulledLine(line);
    return [pullId, seq, idx, r.ts, r.container, r.stream, r.level, line, insertedAtS];
  });
}
