/**
 * What the test server needs to know about a statement before handing it to the engine, found by
 * a small lexer (quotes, comments, parentheses) rather than a parser:
 * - more than one statement is refused, as the server does ("Multi-statements are not allowed");
 *   the embedded engine would run them all, so code relying on that would break in production;
 * - an INSERT's data (after `FORMAT <name>` or `VALUES`) is not SQL and is not scanned;
 * - the output format named by a trailing FORMAT clause goes in X-ClickHouse-Format;
 * - the `{name:Type}` placeholders give each query parameter its declared type.
 */

export interface StatementInfo {
  /** Empty, or only comments and semicolons. */
  empty: boolean;
  insert: boolean;
  /** Offset where a second statement begins (the server refuses the request). */
  secondStatementAt?: number;
  /** The output format of a non-INSERT statement's FORMAT clause. */
  format?: string;
  /** Placeholder name -> declared type, from the SQL part only. */
  placeholders: Map<string, string>;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPACE = /\s+/y;
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/y;

/** End offset of a quoted token starting at `i` (quote char at i), honouring backslash escapes and doubled quotes. */
function skipQuoted(sql: string, i: number): number {
  const q = sql[i];
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === '\\') j += 2;
    else if (c === q) {
      if (sql[j + 1] === q) j += 2;
      else return j + 1;
    } else j++;
  }
  return j;
}

/** End offset of a comment starting at `i`, or i when there is none. */
function skipComment(sql: string, i: number): number {
  if (sql.startsWith('--', i)) {
    const nl = sql.indexOf('\n', i);
    return nl < 0 ? sql.length : nl + 1;
  }
  if (sql.startsWith('/*', i)) {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return i;
}

function skipBlank(sql: string, i: number): number {
  for (;;) {
    SPACE.lastIndex = i;
    if (SPACE.test(sql)) i = SPACE.lastIndex;
    const c = skipComment(sql, i);
    if (c === i) return i;
    i = c;
  }
}

function wordAt(sql: string, i: number): string | undefined {
  WORD.lastIndex = i;
  const m = WORD.exec(sql);
  return m ? m[0] : undefined;
}

export function scanStatement(sql: string): StatementInfo {
  const placeholders = new Map<string, string>();
  const info: StatementInfo = { empty: true, insert: false, placeholders };
  let depth = 0;
  let i = skipBlank(sql, 0);
  let first = true;
  let ended = false;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (ended) {
      if (c === ';') {
        i = skipBlank(sql, i + 1);
        continue;
      }
      info.secondStatementAt = i;
      return info;
    }
    info.empty = false;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i);
    } else if (c === '{') {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(sql);
      if (m) placeholders.set(m[1] as string, m[2] as string);
      i = m ? PLACEHOLDER.lastIndex : i + 1;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (c === ';') {
      ended = true;
      i = skipBlank(sql, i + 1);
      continue;
    } else if (/[A-Za-z_]/.test(c)) {
      const w = wordAt(sql, i) as string;
      const upper = w.toUpperCase();
      if (first) info.insert = upper === 'INSERT';
      first = false;
      i += w.length;
      if (depth === 0 && upper === 'FORMAT') {
        const after = skipBlank(sql, i);
        const name = wordAt(sql, after);
        if (name) {
          // An INSERT's data follows its format name: the rest is data, not SQL.
          if (info.insert) return info;
          info.format = name;
          i = after + name.length;
        }
      } else if (depth === 0 && info.insert && upper === 'VALUES') {
        return info;
      }
    } else {
      i++;
    }
    const next = skipComment(sql, i);
    if (next !== i || /\s/.test(sql[i] ?? '')) i = skipBlank(sql, i);
  }
  return info;
}
