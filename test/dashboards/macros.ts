/**
 * What Grafana and the grafana-clickhouse-datasource plugin do to a panel's SQL before ClickHouse
 * sees it, written out so the test can run the same text on the embedded engine:
 *
 * 1. Grafana interpolates template variables: `$name`, `${name}` and `${name:format}`. Formats used
 *    here: `singlequote` ('a','b' with `'` escaped as `\'`), `sqlstring` ('a','b' with `'` doubled),
 *    `csv` and `raw`. A multi-value variable joins its values with commas.
 * 2. The plugin expands its macros (pkg/macros in grafana/clickhouse-datasource), with the panel's
 *    time range and interval:
 *      $__timeFilter(c)     c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)
 *      $__timeFilter_ms(c)  c >= fromUnixTimestamp64Milli(<from ms>) AND c <= fromUnixTimestamp64Milli(<to ms>)
 *      $__dateFilter(c)     c >= toDate('<from date>') AND c <= toDate('<to date>')
 *      $__fromTime, $__toTime           toDateTime(<s>)
 *      $__fromTime_ms, $__toTime_ms     fromUnixTimestamp64Milli(<ms>)
 *      $__timeInterval(c)   toStartOfInterval(toDateTime(c), INTERVAL <interval s> second)
 *      $__timeInterval_ms(c) toStartOfInterval(toDateTime64(c, 3), INTERVAL <interval ms> millisecond)
 *      $__interval_s        <interval s>  (at least 1)
 * Anything else that starts with `$__` is left in place, so the caller can tell it was not expanded.
 */

export interface MacroContext {
  fromMs: number;
  toMs: number;
  intervalMs: number;
}

export type VariableValues = Record<string, string | string[]>;

const sec = (ms: number) => Math.floor(ms / 1000);
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** One macro argument list: the text between the macro's parentheses, split on top-level commas. */
function args(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

const FUNCTION_MACROS: Record<string, (a: string[], c: MacroContext) => string> = {
  timeFilter: ([col], c) => `${col} >= toDateTime(${sec(c.fromMs)}) AND ${col} <= toDateTime(${sec(c.toMs)})`,
  timeFilter_ms: ([col], c) =>
    `${col} >= fromUnixTimestamp64Milli(${c.fromMs}) AND ${col} <= fromUnixTimestamp64Milli(${c.toMs})`,
  dateFilter: ([col], c) => `${col} >= toDate('${date(c.fromMs)}') AND ${col} <= toDate('${date(c.toMs)}')`,
  timeInterval: ([col], c) =>
    `toStartOfInterval(toDateTime(${col}), INTERVAL ${Math.max(1, sec(c.intervalMs))} second)`,
  timeInterval_ms: ([col], c) =>
    `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.max(1, c.intervalMs)} millisecond)`,
};

const VALUE_MACROS: Record<string, (c: MacroContext) => string> = {
  fromTime_ms: (c) => `fromUnixTimestamp64Milli(${c.fromMs})`,
  toTime_ms: (c) => `fromUnixTimestamp64Milli(${c.toMs})`,
  fromTime: (c) => `toDateTime(${sec(c.fromMs)})`,
  toTime: (c) => `toDateTime(${sec(c.toMs)})`,
  interval_s: (c) => String(Math.max(1, sec(c.intervalMs))),
};

/** The plugin's macros expanded; a function macro's arguments may hold nested parentheses. */
export function expandMacros(sql: string, c: MacroContext): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const m = /^\$__([A-Za-z_]+)/.exec(sql.slice(i));
    if (!m) {
      out += sql[i];
      i++;
      continue;
    }
    const name = m[1]!;
    const fn = FUNCTION_MACROS[name];
    const after = i + m[0].length;
    if (fn && sql[after] === '(') {
      let depth = 0;
      let j = after;
      for (; j < sql.length; j++) {
        if (sql[j] === '(') depth++;
        if (sql[j] === ')' && --depth === 0) break;
      }
      out += fn(args(sql.slice(after + 1, j)), c);
      i = j + 1;
      continue;
    }
    // Longest name first: `$__fromTime_ms` must not be read as `$__fromTime` + `_ms`.
    const value = VALUE_MACROS[name];
    out += value ? value(c) : m[0];
    i = after;
  }
  return out;
}

const FORMATS: Record<string, (values: string[]) => string> = {
  singlequote: (v) => v.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(','),
  sqlstring: (v) => v.map((x) => `'${x.replace(/'/g, "''")}'`).join(','),
  csv: (v) => v.join(','),
  raw: (v) => v.join(','),
};

/** Grafana's template-variable interpolation; throws on an unknown variable or format. */
export function interpolateVariables(sql: string, vars: VariableValues): string {
  return sql.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}|\$([A-Za-z][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const v = vars[name];
      if (v === undefined) throw new Error(`dashboard variable ${whole} is not defined`);
      const values = Array.isArray(v) ? v : [v];
      const f = FORMATS[format ?? 'csv'];
      if (!f) throw new Error(`variable format ${format} is not supported by this expansion`);
      return f(values);
    },
  );
}

/** Variables first (Grafana runs before the plugin), then macros. */
export function expandQuery(sql: string, vars: VariableValues, c: MacroContext): string {
  return expandMacros(interpolateVariables(sql, vars), c);
}
